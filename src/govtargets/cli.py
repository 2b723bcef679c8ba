"""Command-line interface. Thin: parse arguments, call the pipeline, report errors per file."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from tqdm import tqdm

from govtargets import __version__
from govtargets.cli_ls import ls_app
from govtargets.cli_options import BackendOpt, ModelOpt, ThreadsOpt
from govtargets.cli_review import report_command, track_command
from govtargets.documents import Document, DocumentError, expand_inputs, read_file
from govtargets.outputs import FORMATS, OutputError, format_for, write_jsonl, write_records
from govtargets.pipeline import (
    BACKENDS,
    DEFAULT_MODEL_DIR,
    BackendError,
    extract_documents,
    get_backend,
    tagged_documents,
)
from govtargets.records import Backend, Record

app = typer.Typer(
    name="govtargets",
    help="Structured, source-grounded targets from Chinese government work reports (政府工作报告).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")

PathsArg = Annotated[
    list[str],
    typer.Argument(help="Report files (.txt .html .docx .pdf .jsonl), directories (searched recursively) or globs."),
]
# Kept in step with tagging.RUNTIMES by hand: importing tagging here would load torch for every command.
RuntimeOpt = Annotated[
    str | None,
    typer.Option("--runtime", help="How the model runs: torch | onnx | onnx-int8 (ONNX: after `export-onnx`). "
                 "Default: torch."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)


def progress(items: list[T], quiet: bool, unit: str) -> Iterator[T]:
    """A progress bar on stderr, shown only on a terminal and not with --quiet."""
    show = not quiet and sys.stderr.isatty()
    return iter(tqdm(items, unit=unit, disable=not show, file=sys.stderr, dynamic_ncols=True))


def load_backend(backend: str | None, model: Path | None, threads: int | None, runtime: str | None = None) -> Backend:
    try:
        return get_backend(backend, model, threads=threads, runtime=runtime)
    except BackendError as err:
        fail(str(err))
        raise typer.Exit(2) from err


@dataclass
class InputCount:
    done: int = 0  # documents read
    failed: int = 0  # files or paths that could not be read


def read_inputs(paths: list[str], quiet: bool, count: InputCount) -> Iterator[Document]:
    """Every document of the inputs, in order. Paths and files that fail are reported one per line and
    counted in `count`, which also counts the documents handed out."""
    files, errors = expand_inputs(paths)
    for error in errors:
        fail(str(error))
    if not files and not errors:
        fail("no report files found in the given paths")
    count.failed += len(errors)
    for path in progress(files, quiet, "file"):
        try:
            documents = read_file(path, display=str(path))
        except DocumentError as err:
            fail(str(err))
            count.failed += 1
            continue
        for doc in documents:
            count.done += 1
            yield doc


def finish(done: int, failed: int, written: int, out: Path, what: str, quiet: bool) -> None:
    if not quiet:
        typer.echo(f"{done} document(s), {written} {what} → {out}" + (f"; {failed} file(s) failed" if failed else ""),
                   err=True)
    if failed:
        raise typer.Exit(1)


@app.command()
def extract(
    paths: PathsArg,
    out: Annotated[Path, typer.Option("--output", "-o", help="Output file.")],
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help=f"{' | '.join(FORMATS)} (default: from the file name).")
    ] = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
    runtime: RuntimeOpt = None,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Extract linked target and project records, one per line/row, grounded in the source text.

    A run writes its output only when at least one document was processed; files that fail are
    reported one per line and make the exit status 1.
    """
    try:
        fmt = format_for(out, fmt)
    except OutputError as err:
        fail(str(err))
        raise typer.Exit(2) from err
    tagger = load_backend(backend, model, threads, runtime)
    records: list[Record] = []
    count = InputCount()
    for _doc, found in extract_documents(read_inputs(paths, quiet, count), tagger):
        records.extend(found)
    if count.done == 0:
        raise typer.Exit(1)
    try:
        written = write_records(records, out, fmt)
    except (OSError, OutputError) as err:
        fail(f"{out}: {err}")
        raise typer.Exit(1) from err
    finish(count.done, count.failed, written, out, "record(s)", quiet)


@app.command()
def tag(
    paths: PathsArg,
    out: Annotated[Path, typer.Option("--output", "-o", help="Output JSONL file, one line per sentence.")],
    backend: BackendOpt = None,
    model: ModelOpt = None,
    runtime: RuntimeOpt = None,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Tag INDICATOR / VALUE / UNIT / PROJECT spans, one JSON line per sentence (offsets inside the sentence)."""
    tagger = load_backend(backend, model, threads, runtime)
    rows: list[dict[str, object]] = []
    count = InputCount()
    for doc, tagged in tagged_documents(read_inputs(paths, quiet, count), tagger):
        rows.extend({
            "doc": doc.path,
            "sentence": sentence.text,
            "sentence_start": doc.to_source(sentence.start, sentence.end)[0],
            "entities": [span.to_dict() for span in spans],
        } for sentence, spans in tagged)
    if count.done == 0:
        raise typer.Exit(1)
    try:
        written = write_jsonl(rows, out)
    except (OSError, OutputError) as err:
        fail(f"{out}: {err}")
        raise typer.Exit(1) from err
    finish(count.done, count.failed, written, out, "sentence(s)", quiet)


@app.command()
def evaluate(
    gold: Annotated[
        list[Path], typer.Option("--gold", "-g", help="Annotation file(s) or folder(s) (Label Studio JSON).")
    ],
    backend: Annotated[
        list[str] | None, typer.Option("--backend", "-b", help=f"{' | '.join(BACKENDS)}; repeat to compare.")
    ] = None,
    model: ModelOpt = None,
    runtime: RuntimeOpt = None,
    threads: ThreadsOpt = None,
    out: Annotated[Path | None, typer.Option("--output", "-o", help="Write the scores as JSON.")] = None,
) -> None:
    """Entity P/R/F1 per label (seqeval, strict IOB2) and target-level P/R/F1 on gold annotations."""
    from govtargets import evaluation

    try:
        sentences = evaluation.load_gold([str(g) for g in gold])
    except (evaluation.EvaluationError, OSError, ValueError) as err:
        fail(str(err))
        raise typer.Exit(1) from err
    results = [evaluation.evaluate(sentences, load_backend(name, model, threads, runtime))
               for name in backend or [None]]
    typer.echo(f"{len(sentences)} gold sentences")
    typer.echo(evaluation.format_table(results))
    if out is not None:
        evaluation.write_json(results, out)


@app.command("export-onnx")
def export_onnx(
    model: ModelOpt = None,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output folder (default: MODEL/onnx, where --runtime looks).")
    ] = None,
    no_quantize: Annotated[bool, typer.Option("--no-quantize", help="Write only the fp32 model.onnx.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Export the token classifier to ONNX: onnx/model.onnx (fp32) and onnx/model.int8.onnx (int8 weights).

    Checked against torch before it replaces an earlier export. The runtimes reuse the folder's tokenizer and config.
    """
    from govtargets.tagging import TaggingError
    from govtargets.tagging import export_onnx as export

    model_dir = model or DEFAULT_MODEL_DIR
    if not (model_dir / "config.json").is_file():
        fail(f"{model_dir}: not a model folder (no config.json)")
        raise typer.Exit(2)
    try:
        written = export(model_dir, out, quantize=not no_quantize)
    except TaggingError as err:
        fail(str(err))
        raise typer.Exit(1) from err
    if not quiet:
        for path in written:
            typer.echo(f"{path} ({path.stat().st_size / 1e6:.1f} MB)", err=True)


app.add_typer(ls_app, name="ls")
app.command("report")(report_command)
app.command("track")(track_command)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"govtargets {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """govtargets: reports in, linked targets out."""
