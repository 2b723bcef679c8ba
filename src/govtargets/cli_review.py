"""The `report` and `track` commands: plain functions with typer-annotated parameters, registered by
cli.py (`app.command("report")(report_command)`, `app.command("track")(track_command)`).

Both accept report files (extracted here with the chosen backend) and extract outputs (.jsonl whose
lines are records, or .csv written by `extract`). Failures are one line each on stderr; a run writes
its output, atomically, only when at least one input was read, and exits 1 if any input failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from govtargets.cli_options import BackendOpt, ModelOpt, ThreadsOpt
from govtargets.documents import Document, DocumentError, Sentence, expand_inputs, read_file
from govtargets.outputs import FORMATS, OutputError, atomic_write, read_records, write_rows
from govtargets.pipeline import BackendError, get_backend, link_document, tagged_documents
from govtargets.records import Backend, Record, Span
from govtargets.report import render_views, view_from_document, views_from_records
from govtargets.tracking import OUTCOMES, TRACK_COLUMNS, track, untrackable

PathsArg = Annotated[
    list[str],
    typer.Argument(help="Report files, directories or globs, or extract outputs (.jsonl / .csv records)."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)


def is_records_file(path: Path) -> bool:
    """Whether `path` is an extract output rather than a report: a .jsonl whose first line is a record
    (it has "kind"), or a .csv whose header has the record columns."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv") or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8-sig") as handle:
            first = next((line for line in handle if line.strip()), "")
    except (OSError, UnicodeDecodeError):
        return False
    if suffix == ".csv":
        columns = {column.strip().strip('"') for column in first.split(",")}
        return {"kind", "sentence_start", "spans"} <= columns
    try:
        row = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(row, dict) and "kind" in row


# A document, its tagged sentences (pipeline.tag_document) and its grounded records.
DocumentResult = tuple[Document, list[tuple[Sentence, list[Span]]], list[Record]]


@dataclass
class Loaded:
    """Everything read from the inputs: documents with their tags and records, and loose records."""

    documents: list[DocumentResult] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    failed: int = 0

    @property
    def read(self) -> int:
        return len(self.documents) + len(self.records)

    def all_records(self) -> list[Record]:
        return [r for _, _, records in self.documents for r in records] + self.records


def load_inputs(paths: list[str], backend: str | None, model: Path | None, threads: int | None) -> Loaded:
    """Read records files as they are and run report files through the pipeline. The backend is only
    created when there is a report file to tag (so reports from extract outputs need no model)."""
    loaded = Loaded()
    record_files: list[Path] = []
    report_inputs: list[str] = []
    for raw in paths:
        if is_records_file(Path(raw)):
            record_files.append(Path(raw))
        else:
            report_inputs.append(raw)
    report_files: list[Path] = []
    if report_inputs:
        files, errors = expand_inputs(report_inputs)
        for error in errors:
            _fail(str(error))
        loaded.failed += len(errors)
        for path in files:
            (record_files if is_records_file(Path(path)) else report_files).append(Path(path))
    for path in record_files:
        try:
            loaded.records.extend(read_records(path))
        except OutputError as err:
            _fail(str(err))
            loaded.failed += 1
    if not report_files:
        return loaded
    tagger = _backend(backend, model, threads)
    documents: list[Document] = []
    for path in report_files:
        try:
            documents.extend(read_file(path, display=str(path)))
        except DocumentError as err:
            _fail(str(err))
            loaded.failed += 1
    for doc, tagged in tagged_documents(documents, tagger):
        loaded.documents.append((doc, tagged, link_document(doc, tagged)))
    return loaded


def source_documents(records: list[Record]) -> dict[str, Document]:
    """The documents that records were extracted from, read again where their files still are (the
    paths `extract` was given, so relative to the same working directory). Only context for tracking:
    files that are gone or unreadable are left out, and tracking checks each record still fits."""
    wanted = {record.doc for record in records}
    files = {doc if Path(doc).is_file() else doc.rsplit("#", 1)[0] for doc in wanted}
    found: dict[str, Document] = {}
    for name in sorted(files):
        path = Path(name)
        if not path.is_file() or is_records_file(path):
            continue
        try:
            documents = read_file(path, display=name)
        except DocumentError:
            continue
        found.update((doc.path, doc) for doc in documents if doc.path in wanted)
    return found


def _backend(backend: str | None, model: Path | None, threads: int | None) -> Backend:
    try:
        return get_backend(backend, model, threads=threads)
    except BackendError as err:
        _fail(str(err))
        raise typer.Exit(2) from err


def _check_output(out: Path) -> None:
    if out.is_dir():
        _fail(f"{out}: is a directory")
        raise typer.Exit(2)
    if not out.parent.exists():
        _fail(f"{out}: directory {out.parent} does not exist")
        raise typer.Exit(2)


def report_command(
    paths: PathsArg,
    out: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")],
    backend: BackendOpt = None,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Write a self-contained HTML review page: highlighted text, a sortable targets table whose rows
    jump to their evidence, filters and a per-document summary. Opens offline, no external assets."""
    _check_output(out)
    loaded = load_inputs(paths, backend, model, threads)
    if loaded.read == 0:
        if not loaded.failed:
            _fail("no reports or records found in the given paths")
        raise typer.Exit(1)
    views = [view_from_document(doc, tagged, records) for doc, tagged, records in loaded.documents]
    views.extend(views_from_records(loaded.records))
    page = render_views(views)
    try:
        with atomic_write(out) as handle:
            handle.write(page)
    except (OSError, OutputError) as err:
        _fail(f"{out}: {err}")
        raise typer.Exit(1) from err
    if not quiet:
        count = sum(len(view.records) for view in views)
        typer.echo(f"{len(views)} document(s), {count} record(s) → {out}"
                   + (f"; {loaded.failed} input(s) failed" if loaded.failed else ""), err=True)
    if loaded.failed:
        raise typer.Exit(1)


def track_command(
    paths: PathsArg,
    out: Annotated[Path, typer.Option("--output", "-o", help="Output file (.csv, .jsonl or .xlsx).")],
    backend: BackendOpt = None,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Join each year's targets with the actuals the next year's report gives (same region and
    indicator) and say met / missed / no data, with the evidence for both sides."""
    _check_output(out)
    loaded = load_inputs(paths, backend, model, threads)
    if loaded.read == 0:
        if not loaded.failed:
            _fail("no reports or records found in the given paths")
        raise typer.Exit(1)
    records = loaded.all_records()
    documents = source_documents(loaded.records)
    documents.update((doc.path, doc) for doc, _, _ in loaded.documents)
    rows = track(records, documents)
    suffix = out.suffix.lower().lstrip(".")
    fmt = suffix if suffix in FORMATS else "csv"
    try:
        write_rows((row.to_dict() for row in rows), out, fmt, list(TRACK_COLUMNS))
    except (OSError, OutputError) as err:
        _fail(f"{out}: {err}")
        raise typer.Exit(1) from err
    if not quiet:
        counts = {outcome: sum(1 for row in rows if row.outcome == outcome) for outcome in OUTCOMES}
        summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
        skipped = untrackable(records)
        note = f"; {skipped} target record(s) without region, year or specific indicator" if skipped else ""
        typer.echo(f"{len(rows)} target(s): {summary} → {out}{note}"
                   + (f"; {loaded.failed} input(s) failed" if loaded.failed else ""), err=True)
    if loaded.failed:
        raise typer.Exit(1)
