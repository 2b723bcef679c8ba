"""`govtargets ls …`: the Label Studio workflow (push, pull, serve, server)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from govtargets.labelstudio import (
    DEFAULT_DATA_DIR,
    DEFAULT_VENV,
    LABEL_STUDIO_VERSION,
    UNITS,
    Client,
    LabelStudioError,
    connection,
    document_id,
    ensure_label_studio,
    install_command,
    label_studio_installed,
    pull,
    push,
    settings_from_env,
    start_server,
    stop_server,
    wait_until_up,
)

ls_app = typer.Typer(
    name="ls",
    help="Review labels in Label Studio: push reports as tasks, pull finished annotations, serve the tagger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

UrlOpt = Annotated[
    str | None, typer.Option("--url", help="Label Studio URL (default: $LABEL_STUDIO_URL or http://127.0.0.1:8080).")
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", help="API token (default: $LABEL_STUDIO_API_KEY or $LABEL_STUDIO_USER_TOKEN)."),
]
ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Project title.")]
BackendOpt = Annotated[
    str | None, typer.Option("--backend", "-b", help="Tagger: model | rules (default: model if one ships).")
]
ModelOpt = Annotated[Path | None, typer.Option("--model", "-m", help="Model folder for --backend model.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@ls_app.command("push")
def push_command(
    paths: Annotated[list[str], typer.Argument(help="Report files, directories or globs.")],
    project: ProjectOpt,
    backend: BackendOpt = None,
    model: ModelOpt = None,
    unit: Annotated[str, typer.Option("--unit", help="paragraph | sentence: one task per…")] = "paragraph",
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import reports as tasks (one per paragraph) with the tagger's spans as predictions. Idempotent."""
    from govtargets.documents import DocumentError, expand_inputs, read_file
    from govtargets.pipeline import BackendError, get_backend

    if unit not in UNITS:
        raise _fail(f"--unit must be one of {', '.join(UNITS)}")
    try:
        client = Client(connection(url, token))
    except LabelStudioError as err:
        raise _fail(str(err)) from err

    files, errors = expand_inputs(paths)
    documents = []
    for path in files:
        try:
            documents.extend(read_file(path, display=document_id(path)))
        except DocumentError as err:
            errors.append(err)
    if errors or not documents:
        for error in errors:
            typer.echo(f"error: {error}", err=True)
        raise _fail("nothing pushed" if errors else "no report files found in the given paths")
    try:
        tagger = get_backend(backend, model)
    except BackendError as err:
        raise _fail(str(err)) from err

    try:
        result = push(client, project, documents, tagger, unit)
    except LabelStudioError as err:
        raise _fail(str(err)) from err
    action = "created" if result.created else "reused"
    typer.echo(
        f"project {project!r} (id {result.project_id}, {action}): {result.added} new tasks from "
        f"{result.documents} documents, {result.existing} already there; predictions {result.model_version}"
    )


@ls_app.command("pull")
def pull_command(
    project: ProjectOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write: annotations/NAME.json.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Export finished annotations (Label Studio JSON; per task the ground truth, else the latest)."""
    try:
        result = pull(Client(connection(url, token)), project, output)
    except LabelStudioError as err:
        raise _fail(str(err)) from err
    typer.echo(
        f"{result.path}: {result.tasks} annotated tasks from project {project!r} (id {result.project_id}); "
        f"left out: {result.without_annotation} tasks without a finished annotation, "
        f"{result.dropped_annotations} cancelled or superseded annotations"
    )


@ls_app.command("serve")
def serve_command(
    backend: BackendOpt = None,
    model: ModelOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 9090,
) -> None:
    """Run the ML backend: Label Studio's "Connect model" gets predictions from the tagger."""
    from govtargets.ml_backend import make_server
    from govtargets.pipeline import BackendError, get_backend

    try:
        tagger = get_backend(backend, model)
    except BackendError as err:
        raise _fail(str(err)) from err
    try:
        server = make_server(tagger, host, port)
    except OSError as err:
        raise _fail(f"cannot listen on {host}:{port}: {err.strerror}") from err
    typer.echo(f"ML backend ({tagger.name}) at http://{host}:{server.server_address[1]} — in Label Studio: "
               "project → Settings → Model → Connect model, with this URL. Ctrl+C stops it.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@ls_app.command("server")
def server_command(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 8080,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Label Studio's data.")] = DEFAULT_DATA_DIR,
    venv: Annotated[Path, typer.Option("--venv", help="Label Studio's own virtualenv.")] = DEFAULT_VENV,
    install: Annotated[
        bool, typer.Option("--install/--no-install", help="Install Label Studio into --venv when missing.")
    ] = True,
) -> None:
    """Run a local Label Studio; admin and token from LABEL_STUDIO_USERNAME / _PASSWORD / _USER_TOKEN."""
    try:
        settings = settings_from_env(data_dir, port)
        if not label_studio_installed(venv):
            if not install:
                raise LabelStudioError(f"no Label Studio in {venv}; install it with: {install_command(venv)}")
            typer.echo(f"installing label-studio=={LABEL_STUDIO_VERSION} into {venv} (once; a few minutes)…")
        executable = ensure_label_studio(venv, quiet=False)
        process = start_server(executable, settings)
    except LabelStudioError as err:
        raise _fail(str(err)) from err

    # Ctrl+C reaches the child too (same process group); SIGTERM to us should stop it as well.
    signal.signal(signal.SIGTERM, lambda *_: stop_server(process))
    try:
        wait_until_up(settings.url, process)
        typer.echo(
            f"\nLabel Studio is running: open {settings.url} and log in as {settings.username}.\n"
            f"API for govtargets ls push/pull: LABEL_STUDIO_URL={settings.url} with the token in "
            f"LABEL_STUDIO_USER_TOKEN. Data: {settings.data_dir}. Ctrl+C stops it."
        )
        process.wait()
    except LabelStudioError as err:
        stop_server(process)
        raise _fail(str(err)) from err
    except KeyboardInterrupt:
        stop_server(process)
    if process.returncode not in (0, -signal.SIGTERM, -signal.SIGINT) and os.name != "nt":
        raise _fail(f"Label Studio exited with code {process.returncode}")
