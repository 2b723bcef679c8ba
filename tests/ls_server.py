"""pytest plugin: a real Label Studio server for the tests that need one.

Load it with `pytest_plugins = ("ls_server",)` in a test module. The session fixture `label_studio`
installs label-studio into its own virtual environment under the repository's `.cache/` when it is not
there yet (a few minutes, once per machine; reused afterwards), starts it on a free 127.0.0.1 port with
a fresh data directory, a preset legacy API token and its admin user, waits for /health, and stops it at
the end of the session. The time the install and the start took is shown in the test summary.

A fresh data directory costs a minute of database migrations, so the first session also keeps a
migrated, empty one (admin user and token only) in `.cache/` and later sessions start from a copy.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from govtargets.labelstudio import (
    LABEL_STUDIO_VERSION,
    REPO_ROOT,
    ServerSettings,
    ensure_label_studio,
    free_port,
    start_server,
    stop_server,
    wait_until_up,
)

VENV = REPO_ROOT / ".cache" / f"label-studio-{LABEL_STUDIO_VERSION}"
TEMPLATE = REPO_ROOT / ".cache" / f"label-studio-{LABEL_STUDIO_VERSION}-data"
TEMPLATE_READY = TEMPLATE / ".govtargets-template-ready"
TOKEN = "govtargets-test-token-5f1c2a9b"
USERNAME = "reviewer@example.com"
PASSWORD = "govtargets-test-password"

_timings: dict[str, float] = {}


@dataclass(frozen=True)
class LabelStudioServer:
    url: str
    token: str
    username: str
    password: str
    data_dir: Path
    log: Path
    venv: Path
    # A migrated data directory with the admin user: a copy of it starts a server in seconds.
    template: Path
    template_skip: tuple[str, ...] = ("*.log", TEMPLATE_READY.name)


def _make_template(executable: Path) -> None:
    """Start and stop Label Studio once so that a data directory is migrated and has our user, then
    publish it as TEMPLATE. Built under a private name and renamed: parallel sessions never see half
    a template."""
    building = Path(tempfile.mkdtemp(prefix=f"{TEMPLATE.name}.", dir=TEMPLATE.parent))
    settings = ServerSettings(building, free_port(), USERNAME, PASSWORD, TOKEN)
    log = building / "label-studio.log"
    process = start_server(executable, settings, log)
    try:
        wait_until_up(settings.url, process, timeout=600.0, log=log)
    finally:
        stop_server(process)
    (building / TEMPLATE_READY.name).write_text(LABEL_STUDIO_VERSION + "\n", encoding="utf-8")
    if not TEMPLATE_READY.is_file():
        shutil.rmtree(TEMPLATE, ignore_errors=True)  # an unfinished template of an interrupted session
    try:
        building.rename(TEMPLATE)
    except OSError:
        # Another session published its template first; ours is surplus.
        shutil.rmtree(building, ignore_errors=True)


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    began = time.monotonic()
    executable = ensure_label_studio(VENV)
    _timings["install (0 when reused)"] = time.monotonic() - began

    began = time.monotonic()
    if not TEMPLATE_READY.is_file():
        _make_template(executable)
    _timings["database setup (0 when reused)"] = time.monotonic() - began
    data_dir = tmp_path_factory.getbasetemp() / "label-studio-data"
    shutil.copytree(TEMPLATE, data_dir, ignore=shutil.ignore_patterns(*LabelStudioServer.template_skip))
    settings = ServerSettings(data_dir, free_port(), USERNAME, PASSWORD, TOKEN)
    log = data_dir / "label-studio.log"
    began = time.monotonic()
    process = start_server(executable, settings, log)
    try:
        wait_until_up(settings.url, process, timeout=600.0, log=log)
        _timings["server start"] = time.monotonic() - began
        yield LabelStudioServer(settings.url, TOKEN, USERNAME, PASSWORD, data_dir, log, VENV, TEMPLATE)
    finally:
        stop_server(process)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _timings:
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in _timings.items())
        terminalreporter.write_line(f"Label Studio {LABEL_STUDIO_VERSION}: {parts}")
