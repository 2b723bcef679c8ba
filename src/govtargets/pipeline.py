"""One path through the code: document → backend spans → linked records grounded in the source."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
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

# Sentences per backend call when documents are tagged together. The model sorts a call's windows by
# length before batching them; one national report alone leaves 8% of the tokens it computes as padding,
# documents pooled into calls of a few thousand sentences leave 1-2% (the forward pass is 12% faster).
GROUP_SENTENCES = 4096

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


def tag_documents(docs: list[Document], backend: Backend) -> list[list[tuple[Sentence, list[Span]]]]:
    """`tag_document` for each of `docs`, with one backend call for all their sentences."""
    per_doc = [[s for s in doc.sentences if s.norm.strip()] for doc in docs]
    texts = [s.norm for sentences in per_doc for s in sentences]
    tagged = backend.tag(texts) if texts else []
    if len(tagged) != len(texts):
        raise ValueError(f"backend {backend.name!r} returned {len(tagged)} results for {len(texts)} sentences")
    result: list[list[tuple[Sentence, list[Span]]]] = []
    position = 0
    for sentences in per_doc:
        pairs = [(sentence, [replace(span, text=sentence.text[span.start : span.end]) for span in spans])
                 for sentence, spans in zip(sentences, tagged[position : position + len(sentences)], strict=True)]
        result.append(pairs)
        position += len(sentences)
    return result


def tag_document(doc: Document, backend: Backend) -> list[tuple[Sentence, list[Span]]]:
    """Spans per sentence, offsets relative to the sentence, text as written in `doc.text`."""
    return tag_documents([doc], backend)[0]


def document_groups(docs: Iterable[Document], max_sentences: int = GROUP_SENTENCES) -> Iterator[list[Document]]:
    """`docs` in order, in groups of whole documents that reach `max_sentences` sentences (the last may
    have fewer): what `tag_documents` should get at once, without reading every input first."""
    group: list[Document] = []
    size = 0
    for doc in docs:
        group.append(doc)
        size += len(doc.sentences)
        if size >= max_sentences:
            yield group
            group, size = [], 0
    if group:
        yield group


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


def tagged_documents(
    docs: Iterable[Document], backend: Backend, max_sentences: int = GROUP_SENTENCES
) -> Iterator[tuple[Document, list[tuple[Sentence, list[Span]]]]]:
    """Each document with its tagged sentences (`tag_document`), tagged in groups (`document_groups`)."""
    for group in document_groups(docs, max_sentences):
        yield from zip(group, tag_documents(group, backend), strict=True)


def extract_documents(docs: Iterable[Document], backend: Backend) -> Iterator[tuple[Document, list[Record]]]:
    """Each document with its records, tagged in groups (`document_groups`) for speed."""
    for doc, tagged in tagged_documents(docs, backend):
        yield doc, link_document(doc, tagged)
