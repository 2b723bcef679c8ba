"""Label Studio workflow, client side: the project config, push (documents → tasks with pre-annotations),
pull (finished annotations → the repository's annotation files), and a local Label Studio server.

The server runs from its own virtual environment (`.venv-ls/`): Label Studio pins Django and many other
packages that must not meet ours. We only talk to it over HTTP through `label-studio-sdk` 2.x.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from govtargets import __version__
from govtargets.data import (
    FROM_NAME,
    RELATION_LABEL,
    TEXT_KEY,
    TO_NAME,
    AnnotationError,
    check_spans,
    select_annotation,
    spans_to_results,
    task_to_labeled,
    trim_span,
)
from govtargets.records import LABELS, Backend, Span

if TYPE_CHECKING:
    from govtargets.documents import Document, Sentence

LABEL_STUDIO_VERSION = "1.23.2"
REPO_ROOT = Path(__file__).resolve().parents[2]
LABEL_CONFIG_PATH = REPO_ROOT / "annotations" / "label_config.xml"
DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_VENV = REPO_ROOT / ".venv-ls"
DEFAULT_DATA_DIR = REPO_ROOT / "label-studio-data"
UNITS: tuple[str, ...] = ("paragraph", "sentence")
# Tasks per import request: small enough for Label Studio's request limits, large enough to be quick.
IMPORT_BATCH = 500
# Written into a Label Studio venv once its install finished, so a broken half-install is redone.
INSTALLED_MARKER = ".govtargets-label-studio"


class LabelStudioError(Exception):
    """A Label Studio operation failed; the message is one line, fit for the command line."""


# --- label config -----------------------------------------------------------------------------------


def read_label_config(path: Path = LABEL_CONFIG_PATH) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise LabelStudioError(f"cannot read the label config {path}: {err.strerror}") from err


def label_config_problem(config: str) -> str | None:
    """Why a label config is not one govtargets can read and write, or None if it is.

    Colours, hotkeys and layout may differ; names and the label set must match data.py.
    """
    try:
        root = ET.fromstring(config)
    except ET.ParseError as err:
        return f"it is not valid XML ({err})"
    labels = [el for el in root.iter("Labels") if el.get("name") == FROM_NAME]
    if not labels:
        return f'it has no <Labels name="{FROM_NAME}">'
    if labels[0].get("toName") != TO_NAME:
        return f'<Labels name="{FROM_NAME}"> does not point at toName="{TO_NAME}"'
    values = sorted(el.get("value", "") for el in labels[0].iter("Label"))
    if values != sorted(LABELS):
        return f"its labels are {', '.join(values) or 'none'}, expected {', '.join(LABELS)}"
    texts = [el for el in root.iter("Text") if el.get("name") == TO_NAME]
    if not texts or texts[0].get("value") != f"${TEXT_KEY}":
        return f'it has no <Text name="{TO_NAME}" value="${TEXT_KEY}">'
    relations = [el.get("value") for el in root.iter("Relation")]
    if RELATION_LABEL not in relations:
        return f'it has no <Relation value="{RELATION_LABEL}">'
    return None


# --- documents → tasks ------------------------------------------------------------------------------


def task_key(doc_id: str, offset: int, text: str) -> str:
    """Stable identity of a task: the same text at the same place in the same document."""
    return hashlib.sha256(f"{doc_id}\n{offset}\n{text}".encode()).hexdigest()[:20]


def document_id(path: Path) -> str:
    """How a pushed file is named in task data: relative to the repository when inside it, so the same
    file pushed from another directory or spelled differently gets the same task keys."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return resolved.as_posix()


def model_version(backend: Backend) -> str:
    return f"govtargets-{__version__}-{backend.name}"


def unit_bounds(doc: Document, unit: str) -> list[tuple[int, int]]:
    """Clean-text bounds of each paragraph (or sentence), whitespace at the edges left out."""
    if unit not in UNITS:
        raise LabelStudioError(f"unknown unit {unit!r} (choose from {', '.join(UNITS)})")
    raw = doc.paragraphs if unit == "paragraph" else [(s.start, s.end) for s in doc.sentences]
    bounds: list[tuple[int, int]] = []
    for start, end in raw:
        while start < end and doc.text[start].isspace():
            start += 1
        while end > start and doc.text[end - 1].isspace():
            end -= 1
        if start < end:
            bounds.append((start, end))
    return bounds


def document_tasks(
    doc: Document, tagged: Sequence[tuple[Sentence, list[Span]]], unit: str, version: str
) -> list[dict[str, Any]]:
    """One Label Studio task per unit of `doc`, with the backend's spans as a prediction.

    `tagged` is `pipeline.tag_document(doc, backend)`: sentence-relative spans, text as written.
    """
    absolute: list[Span] = []
    for sentence, spans in tagged:
        absolute.extend(span.shifted(sentence.start) for span in spans)
    tasks: list[dict[str, Any]] = []
    for start, end in unit_bounds(doc, unit):
        text = doc.text[start:end]
        where = f"{doc.path} at {start}"
        inside: list[Span] = []
        for span in absolute:
            if start <= span.start and span.end <= end:
                local = trim_span(text, Span(span.label, span.start - start, span.end - start,
                                             text[span.start - start : span.end - start], span.score))
                if local is not None:
                    inside.append(local)
        try:
            spans = check_spans(text, inside, where)
            result = spans_to_results(text, spans, (), where, with_scores=True)
        except AnnotationError as err:
            raise LabelStudioError(f"the backend's spans cannot be pre-annotations: {err}") from err
        prediction: dict[str, Any] = {"model_version": version, "result": result}
        if spans:
            # The least certain span scores the task, so uncertainty sampling shows doubtful ones first.
            prediction["score"] = round(min(span.score for span in spans), 4)
        data = {
            TEXT_KEY: text,
            "key": task_key(doc.path, start, text),
            "doc": doc.path,
            "unit": unit,
            "offset": start,
            "end": end,
            "source_offset": doc.offsets[start],
            "title": doc.meta.title,
            "region": doc.meta.region,
            "level": doc.meta.level,
            "year": doc.meta.year,
            "date": doc.meta.date,
        }
        tasks.append({"data": data, "predictions": [prediction]})
    return tasks


# --- export selection -------------------------------------------------------------------------------


@dataclass
class Selection:
    tasks: list[dict[str, Any]]
    without_annotation: int = 0
    dropped_annotations: int = 0


def select_export(exported: Sequence[dict[str, Any]]) -> Selection:
    """Keep, per task, only the annotation that counts (see data.select_annotation); drop tasks without
    one. Prediction ids and drafts are left out: neither is annotation data, and a bare prediction id
    would stop the file from importing into another Label Studio. Every kept annotation is checked."""
    selection = Selection([])
    for task in exported:
        chosen = select_annotation(task)
        if chosen is None:
            selection.without_annotation += 1
            continue
        selection.dropped_annotations += len(task.get("annotations", [])) - 1
        kept = {key: value for key, value in task.items() if key not in ("predictions", "drafts")}
        kept["annotations"] = [chosen]
        try:
            task_to_labeled(kept)
        except AnnotationError as err:
            raise LabelStudioError(str(err)) from err
        selection.tasks.append(kept)
    return selection


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON to a temp file next to `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            json.dump(payload, handle, ensure_ascii=False, indent=1)
            handle.write("\n")
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


# --- the client -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    url: str
    token: str


def connection(url: str | None = None, token: str | None = None) -> Connection:
    """Server URL and API token: arguments, else LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY (or
    LABEL_STUDIO_USER_TOKEN, the token `govtargets ls server` gives its admin user)."""
    url = url or os.environ.get("LABEL_STUDIO_URL") or DEFAULT_URL
    token = token or os.environ.get("LABEL_STUDIO_API_KEY") or os.environ.get("LABEL_STUDIO_USER_TOKEN")
    if not token:
        raise LabelStudioError(
            "no API token: pass --token or set LABEL_STUDIO_API_KEY (or LABEL_STUDIO_USER_TOKEN)"
        )
    return Connection(url.rstrip("/"), token)


def _short(body: Any) -> str:
    """The useful part of an error body: Label Studio's validation errors or detail, else the body."""
    if isinstance(body, dict) and body.get("validation_errors"):
        errors = body["validation_errors"]
        body = "; ".join(f"{key}: {' '.join(map(str, value)) if isinstance(value, list) else value}"
                         for key, value in errors.items()) if isinstance(errors, dict) else errors
    elif isinstance(body, dict) and body.get("detail"):
        body = body["detail"]
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:200] + "…"


@contextmanager
def _api(conn: Connection, action: str) -> Iterator[None]:
    """Turn transport and HTTP failures of the SDK into one-line LabelStudioErrors."""
    try:
        yield
    except httpx.TransportError as err:
        raise LabelStudioError(
            f"cannot reach Label Studio at {conn.url} ({type(err).__name__}); is it running? "
            "(start one with `govtargets ls server`)"
        ) from err
    except ApiError as err:
        if err.status_code in (401, 403):
            raise LabelStudioError(
                f"Label Studio at {conn.url} rejected the API token (HTTP {err.status_code}) while trying to "
                f"{action}; check --token / LABEL_STUDIO_API_KEY (legacy tokens need the server to run with "
                "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true)"
            ) from err
        raise LabelStudioError(
            f"Label Studio at {conn.url} failed to {action}: HTTP {err.status_code}: {_short(err.body)}"
        ) from err
    except ValueError as err:
        # JSON that is not Label Studio's: another service answers at this address.
        raise LabelStudioError(
            f"{conn.url} does not answer like Label Studio while trying to {action}: {err}"
        ) from err


class Client:
    """The few Label Studio operations the workflow needs, with clear errors."""

    def __init__(self, conn: Connection, timeout: float = 120.0) -> None:
        self.conn = conn
        with _api(conn, "authenticate"):
            self.sdk = LabelStudio(base_url=conn.url, api_key=conn.token, timeout=timeout, max_retries=1)
            self.sdk.users.whoami()

    def find_project(self, title: str) -> Any | None:
        with _api(self.conn, "list projects"):
            matches = [p for p in self.sdk.projects.list(title=title, page_size=100) if p.title == title]
        if len(matches) > 1:
            ids = ", ".join(str(p.id) for p in matches)
            raise LabelStudioError(f"several projects are titled {title!r} (ids {ids}); rename all but one")
        return matches[0] if matches else None

    def checked_project(self, title: str) -> Any:
        """The existing project `title`, verified to use our label config."""
        project = self.find_project(title)
        if project is None:
            raise LabelStudioError(f"no project titled {title!r} at {self.conn.url}")
        with _api(self.conn, f"read project {project.id}"):
            config = self.sdk.projects.get(project.id).label_config or ""
        problem = label_config_problem(config)
        if problem:
            raise LabelStudioError(
                f"project {title!r} (id {project.id}) does not use the govtargets label config: {problem}"
            )
        return project

    def ensure_project(self, title: str, config: str, version: str) -> tuple[Any, bool]:
        """Reuse project `title` (checking its config) or create it; returns (project, created)."""
        problem = label_config_problem(config)
        if problem:
            raise LabelStudioError(f"the label config to create projects with is not usable: {problem}")
        if self.find_project(title) is not None:
            project = self.checked_project(title)
            created = False
        else:
            with _api(self.conn, f"create project {title!r}"):
                project = self.sdk.projects.create(
                    title=title, label_config=config, show_collab_predictions=True, model_version=version,
                    description="govtargets targets and projects (annotations/GUIDE.md)",
                )
            created = True
        # Label Studio shows reviewers the predictions of the project's model version only.
        with _api(self.conn, f"set the model version of project {project.id}"):
            self.sdk.projects.update(project.id, model_version=version, show_collab_predictions=True)
        return project, created

    def task_keys(self, project_id: int) -> set[str]:
        with _api(self.conn, f"list the tasks of project {project_id}"):
            tasks = self.sdk.tasks.list(project=project_id, fields="task_only", page_size=1000)
            return {str(task.data.get("key")) for task in tasks if task.data and task.data.get("key")}

    def import_tasks(self, project_id: int, tasks: Sequence[dict[str, Any]]) -> None:
        for first in range(0, len(tasks), IMPORT_BATCH):
            batch = list(tasks[first : first + IMPORT_BATCH])
            with _api(self.conn, f"import tasks into project {project_id}"):
                self.sdk.projects.import_tasks(project_id, request=batch)

    def export(self, project_id: int) -> list[dict[str, Any]]:
        """Label Studio's JSON export of every task that has an annotation."""
        with _api(self.conn, f"export project {project_id}"):
            chunks = self.sdk.projects.exports.download_sync(project_id, export_type="JSON",
                                                             download_all_tasks=False)
            exported = json.loads(b"".join(chunks))
        if not isinstance(exported, list):
            raise LabelStudioError(f"the export of project {project_id} is not a JSON list of tasks")
        return exported


# --- push and pull ----------------------------------------------------------------------------------


@dataclass
class PushResult:
    project_id: int
    created: bool
    documents: int
    tasks: int
    added: int
    model_version: str
    errors: list[str] = field(default_factory=list)

    @property
    def existing(self) -> int:
        return self.tasks - self.added


def push(
    client: Client, title: str, documents: Sequence[Document], backend: Backend, unit: str = "paragraph",
    config: str | None = None,
) -> PushResult:
    """Create or reuse project `title` and import one task per unit of each document, with the backend's
    spans as predictions. Tasks already in the project (same key) are not imported again."""
    # Imported here so that `ls server` and `ls pull` do not load the tagging stack.
    from govtargets.pipeline import tagged_documents

    if unit not in UNITS:
        raise LabelStudioError(f"unknown unit {unit!r} (choose from {', '.join(UNITS)})")
    version = model_version(backend)
    tasks: list[dict[str, Any]] = []
    for doc, tagged in tagged_documents(documents, backend):
        tasks.extend(document_tasks(doc, tagged, unit, version))
    project, created = client.ensure_project(title, config or read_label_config(), version)
    known = client.task_keys(project.id)
    new: list[dict[str, Any]] = []
    for task in tasks:
        key = task["data"]["key"]
        if key not in known:
            known.add(key)
            new.append(task)
    client.import_tasks(project.id, new)
    return PushResult(project.id, created, len(documents), len(tasks), len(new), version)


@dataclass
class PullResult:
    project_id: int
    path: Path
    tasks: int
    without_annotation: int
    dropped_annotations: int


def pull(client: Client, title: str, output: Path) -> PullResult:
    """Export the finished annotations of project `title` to `output` (Label Studio JSON, one chosen
    annotation per task). Nothing is written unless every annotation converts cleanly."""
    project = client.checked_project(title)
    selection = select_export(client.export(project.id))
    write_json_atomic(output, selection.tasks)
    return PullResult(project.id, output, len(selection.tasks), selection.without_annotation,
                      selection.dropped_annotations)


# --- a local Label Studio server --------------------------------------------------------------------


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_label_studio(venv: Path) -> Path:
    return venv / ("Scripts/label-studio.exe" if os.name == "nt" else "bin/label-studio")


def install_command(venv: Path) -> str:
    """The one shell command that creates a Label Studio environment by hand."""
    return (f"{sys.executable} -m venv {venv} && {venv_python(venv)} -m pip install "
            f"label-studio=={LABEL_STUDIO_VERSION}")


def label_studio_installed(venv: Path) -> bool:
    marker = venv / INSTALLED_MARKER
    return venv_label_studio(venv).is_file() and marker.is_file() and \
        marker.read_text(encoding="utf-8").strip() == LABEL_STUDIO_VERSION


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (POSIX; elsewhere no lock): one process at a time installs
    into a venv, e.g. two test sessions started together."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        if os.name == "posix":
            import fcntl  # POSIX only, hence imported here

            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_label_studio(venv: Path, quiet: bool = True) -> Path:
    """The `label-studio` executable of `venv`, installing Label Studio there first if needed.

    Label Studio gets a virtual environment of its own because its pins (Django, and others) clash with
    ours. A first install downloads about 1 GB of packages and takes a few minutes.
    """
    with file_lock(venv.parent / f".{venv.name}.lock"):
        if label_studio_installed(venv):
            return venv_label_studio(venv)
        try:
            if not venv_python(venv).is_file():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=quiet)
            pip = [str(venv_python(venv)), "-m", "pip", "install", "--disable-pip-version-check"]
            if quiet:
                pip.append("--quiet")
            subprocess.run([*pip, f"label-studio=={LABEL_STUDIO_VERSION}"], check=True, capture_output=quiet)
        except subprocess.CalledProcessError as err:
            detail = (err.stderr or b"").decode(errors="replace").strip().splitlines()
            raise LabelStudioError(
                f"installing label-studio=={LABEL_STUDIO_VERSION} into {venv} failed"
                f"{': ' + detail[-1] if detail else ''}; to do it by hand: {install_command(venv)}"
            ) from err
        (venv / INSTALLED_MARKER).write_text(LABEL_STUDIO_VERSION + "\n", encoding="utf-8")
    return venv_label_studio(venv)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) == 0


@dataclass(frozen=True)
class ServerSettings:
    data_dir: Path
    port: int
    username: str
    password: str
    token: str
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def settings_from_env(data_dir: Path, port: int) -> ServerSettings:
    """The admin user and API token come from LABEL_STUDIO_USERNAME / _PASSWORD / _USER_TOKEN."""
    names = ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise LabelStudioError(
            f"set {', '.join(missing)} first (the admin e-mail, password and API token of the local server)"
        )
    token = os.environ["LABEL_STUDIO_USER_TOKEN"]
    if len(token) < 6:
        raise LabelStudioError(
            "LABEL_STUDIO_USER_TOKEN must have at least 6 characters (Label Studio ignores shorter ones)"
        )
    username, password = os.environ["LABEL_STUDIO_USERNAME"], os.environ["LABEL_STUDIO_PASSWORD"]
    return ServerSettings(data_dir, port, username, password, token)


def server_environment(settings: ServerSettings) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(settings.data_dir.resolve()),
        "LABEL_STUDIO_USERNAME": settings.username,
        "LABEL_STUDIO_PASSWORD": settings.password,
        "LABEL_STUDIO_USER_TOKEN": settings.token,
        # The preset token is a legacy token; the organisation must allow them when it is first created.
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        # Let "Connect model" reach `govtargets ls serve` on this machine. Label Studio blocks local
        # addresses as SSRF twice: for the ML backend URL, and (1.23) for the <url>/webhook it registers
        # with every ML backend, which falls under the general SSRF switch. The server only listens on
        # 127.0.0.1, so local URLs are what it should reach.
        "ML_BLOCK_LOCAL_IP": "false",
        "SSRF_PROTECTION_ENABLED": "false",
        # A local tool: no update check, telemetry or error reporting to outside services.
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "LOG_LEVEL": env.get("LOG_LEVEL", "WARNING"),
    })
    return env


def start_server(
    executable: Path, settings: ServerSettings, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `label-studio` bound to settings.host; its output goes to `log` (or is inherited)."""
    if port_in_use(settings.port, settings.host):
        raise LabelStudioError(f"port {settings.port} on {settings.host} is in use; choose another port")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command = [str(executable), "start", "--no-browser", "--internal-host", settings.host,
               "--port", str(settings.port), "--data-dir", str(settings.data_dir.resolve())]
    # The child gets its own copy of the log descriptor; ours is closed right after the start.
    output = open(log, "ab") if log else None
    try:
        return subprocess.Popen(command, env=server_environment(settings), stdout=output,
                                stderr=subprocess.STDOUT if output else None, stdin=subprocess.DEVNULL)
    finally:
        if output:
            output.close()


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 300.0,
                  log: Path | None = None) -> None:
    """Poll /health until Label Studio answers; fail early if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = ""
            if log and log.is_file():
                lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()]
                tail = " | ".join(line for line in lines if line)[-600:]
                tail = f" (log {log}: …{tail})" if tail else ""
            raise LabelStudioError(f"Label Studio exited with code {process.returncode} while starting{tail}")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise LabelStudioError(f"Label Studio did not answer at {url}/health within {timeout:.0f} s")


def stop_server(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
