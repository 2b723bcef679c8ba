"""One path through the code: document → backend spans → linked records grounded in the source."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from govtargets.documents import Document, Sentence
from govtargets.linking import link
from govtargets.records import Backend, Record, Span

BACKENDS: tuple[str, ...] = ("model", "rules")

# The shipped model lives in the repository's models/ folder (src layout: two levels above the package).
DEFAULT_MODEL_DIR = Path(
    os.environ.get("GOVTARGETS_MODEL", Path(__file__).resolve().parents[2] / "models" / "govtargets-small")
)

# Record fields whose text is taken from the document as written (the linker sees normalised text).
TEXT_FIELDS: tuple[str, ...] = ("indicator", "unit", "project", "action")


class BackendError(Exception):
    """A backend could not be created (unknown name, missing or broken model)."""


def default_backend_name() -> str:
    """`model` when a model ships in models/ (it does), `rules` in a checkout without one."""
    return "model" if (DEFAULT_MODEL_DIR / "config.json").is_file() else "rules"


def get_backend(
    name: str | None = None, model_dir: str | Path | None = None, *, threads: int | None = None,
    runtime: str | None = None,
) -> Backend:
    """`runtime` (torch | onnx | onnx-int8, default torch) is how the model backend runs; the rules ignore
    it. Without a backend name, a model folder or an ONNX runtime asks for the model."""
    if name is None:
        name = "model" if model_dir is not None or runtime not in (None, "torch") else default_backend_name()
    if name == "rules":
        from govtargets.rules import RuleBackend

        return RuleBackend()
    if name == "model":
        from govtargets.tagging import ModelBackend, TaggingError

        try:
            return ModelBackend(model_dir or DEFAULT_MODEL_DIR, runtime=runtime or "torch", threads=threads)
        except TaggingError as err:
            raise BackendError(str(err)) from err
    raise BackendError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")


def tag_document(doc: Document, backend: Backend) -> list[tuple[Sentence, list[Span]]]:
    """Spans per sentence, offsets relative to the sentence, text as written in `doc.text`."""
    sentences = [s for s in doc.sentences if s.norm.strip()]
    tagged = backend.tag([s.norm for s in sentences]) if sentences else []
    result: list[tuple[Sentence, list[Span]]] = []
    for sentence, spans in zip(sentences, tagged, strict=True):
        written = [replace(span, text=sentence.text[span.start : span.end]) for span in spans]
        result.append((sentence, written))
    return result


def ground(record: Record, doc: Document, sentence: Sentence) -> Record:
    """Turn a sentence-relative record from the linker into one anchored in `doc.source`."""
    spans: dict[str, list[int]] = {}
    fields: dict[str, object] = {}
    for key, (start, end) in record.spans.items():
        if key in TEXT_FIELDS:
            fields[key] = sentence.text[start:end]
        source_start, source_end = doc.to_source(sentence.start + start, sentence.start + end)
        spans[key] = [source_start, source_end]
    return replace(
        record,
        **fields,
        doc=doc.path,
        sentence=sentence.text,
        sentence_start=doc.to_source(sentence.start, sentence.end)[0],
        spans=spans,
        region=doc.meta.region,
        level=doc.meta.level,
        year=doc.meta.year,
    )


def link_document(doc: Document, tagged: list[tuple[Sentence, list[Span]]]) -> list[Record]:
    records: list[Record] = []
    for sentence, spans in tagged:
        # The linker reads cue words and numbers in normalised form (simplified, half-width).
        norm_spans = [replace(span, text=sentence.norm[span.start : span.end]) for span in spans]
        for record in link(sentence.norm, norm_spans, sentence.section):
            records.append(ground(record, doc, sentence))
    return records


def extract_document(doc: Document, backend: Backend) -> list[Record]:
    return link_document(doc, tag_document(doc, backend))
