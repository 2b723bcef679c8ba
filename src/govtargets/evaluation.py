"""How good a backend is on gold annotations: entity P/R/F1 per label and target-level P/R/F1.

Gold annotations are paragraphs (Label Studio tasks). They are evaluated the way the pipeline runs:
each paragraph is cut into the document's own sentences (with their review/plan section), the
backend tags each normalised sentence, and the linker turns gold spans and predicted spans alike into
records. Entity scores are seqeval's strict IOB2 scores over character tags; target scores compare
the two sets of records at three levels of strictness.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from govtargets.data import LabeledText, read_annotations, spans_to_bio
from govtargets.documents import Document, read_file
from govtargets.linking import link
from govtargets.records import LABELS, Backend, Record, Span

ROOT = Path(__file__).resolve().parents[2]

# Fields a record must get right at each level (value and unit are the minimum).
TARGET_LEVELS: dict[str, tuple[str, ...]] = {
    "value_unit": ("kind", "value", "value_max", "unit"),
    "linked": ("kind", "value", "value_max", "unit", "indicator", "comparator", "measure", "project", "action"),
    "with_status": ("kind", "value", "value_max", "unit", "indicator", "comparator", "measure", "project",
                    "action", "status"),
}


class EvaluationError(Exception):
    """Gold data that cannot be evaluated (missing document, text out of date)."""


@dataclass
class GoldSentence:
    doc: str
    text: str  # as written
    norm: str  # what the backend sees
    section: str | None
    spans: list[Span]  # gold, offsets inside the sentence, text as written


@cache
def _documents_in(path: str) -> dict[str, Document]:
    # A JSONL file holds many reports: read it once, not once per report.
    file = Path(path) if Path(path).exists() else ROOT / path
    if not file.exists():
        raise EvaluationError(f"{path}: source document not found (looked in . and {ROOT})")
    return {doc.path: doc for doc in read_file(file, display=path)}


def _document(doc_id: str) -> Document:
    documents = _documents_in(doc_id.partition("#")[0])
    if doc_id not in documents:
        raise EvaluationError(f"{doc_id}: no such document")
    return documents[doc_id]


def gold_sentences(items: Iterable[LabeledText]) -> list[GoldSentence]:
    """Cut gold paragraphs into the document's sentences, with spans moved into each sentence."""
    sentences: list[GoldSentence] = []
    for item in items:
        doc_id, offset = item.meta.get("doc"), item.meta.get("offset")
        if doc_id is None or offset is None:
            raise EvaluationError(f"{item.name}: task data lacks doc/offset")
        doc = _document(str(doc_id))
        if doc.text[offset : offset + len(item.text)] != item.text:
            raise EvaluationError(f"{item.name}: text differs from {doc_id} at {offset} (documents changed?)")
        end = offset + len(item.text)
        for sentence in doc.sentences:
            if sentence.start < offset or sentence.end > end:
                continue
            lo, hi = sentence.start - offset, sentence.end - offset
            inside = [s.shifted(-lo) for s in item.spans if lo <= s.start and s.end <= hi]
            sentences.append(GoldSentence(doc_id, sentence.text, sentence.norm, sentence.section, inside))
    return sentences


def load_gold(paths: Sequence[str | Path]) -> list[GoldSentence]:
    """Gold sentences from annotation files or directories of them."""
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    if not files:
        raise EvaluationError(f"no annotation files in {', '.join(map(str, paths))}")
    return gold_sentences(item for file in files for item in read_annotations(file))


def entity_scores(texts: Sequence[str], gold: Sequence[list[Span]], predicted: Sequence[list[Span]]) -> dict:
    """seqeval strict IOB2 P/R/F1 per label and micro average, over character tags."""
    y_true = [spans_to_bio(t, g, "gold") for t, g in zip(texts, gold, strict=True)]
    y_pred = [spans_to_bio(t, p, "prediction") for t, p in zip(texts, predicted, strict=True)]
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    scores: dict[str, dict[str, float]] = {}
    for label in (*LABELS, "micro avg"):
        row = report.get(label, {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
        scores["all" if label == "micro avg" else label] = {
            "precision": round(float(row["precision"]), 4), "recall": round(float(row["recall"]), 4),
            "f1": round(float(row["f1-score"]), 4), "support": int(row["support"]),
        }
    return scores


def _keys(records: Iterable[tuple[int, Record]], fields: tuple[str, ...]) -> Counter:
    return Counter((index, *(getattr(r, f) for f in fields)) for index, r in records)


def _prf(gold: Counter, predicted: Counter) -> dict[str, float]:
    hit = sum((gold & predicted).values())
    p = hit / sum(predicted.values()) if predicted else 0.0
    r = hit / sum(gold.values()) if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "support": sum(gold.values())}


def sentence_records(sentence: GoldSentence, spans: list[Span]) -> list[Record]:
    norm_spans = [replace(s, text=sentence.norm[s.start : s.end]) for s in spans]
    return link(sentence.norm, norm_spans, sentence.section)


def target_scores(sentences: Sequence[GoldSentence], predicted: Sequence[list[Span]]) -> dict:
    gold_records = [(i, r) for i, s in enumerate(sentences) for r in sentence_records(s, s.spans)]
    pred_records = [(i, r) for i, (s, p) in enumerate(zip(sentences, predicted, strict=True))
                    for r in sentence_records(s, p)]
    return {level: _prf(_keys(gold_records, fields), _keys(pred_records, fields))
            for level, fields in TARGET_LEVELS.items()}


def evaluate(sentences: Sequence[GoldSentence], backend: Backend) -> dict[str, Any]:
    predicted = backend.tag([s.norm for s in sentences]) if sentences else []
    texts = [s.text for s in sentences]
    # Predictions are scored on the sentence as written (same offsets as the normalised text).
    predicted = [[replace(p, text=t[p.start : p.end]) for p in spans] for t, spans in zip(texts, predicted,
                                                                                          strict=True)]
    return {
        "backend": backend.name,
        "sentences": len(sentences),
        "entities": entity_scores(texts, [s.spans for s in sentences], predicted),
        "targets": target_scores(sentences, predicted),
    }


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """One column block per backend: entity F1 per label, target F1 per level (P/R/F1)."""
    rows = [("entities " + label, "entities", label) for label in (*LABELS, "all")]
    rows += [("targets " + level, "targets", level) for level in TARGET_LEVELS]
    names = [r.get("name", r["backend"]) for r in results]
    width = max(len(r[0]) for r in rows) + 2
    header = "".ljust(width) + "".join(f"{n[:22]:>24}" for n in names)
    lines = [header, "".ljust(width) + "".join(f"{'P / R / F1':>24}" for _ in names)]
    for title, group, key in rows:
        cells = []
        for result in results:
            score = result[group][key]
            cells.append(f"{score['precision']:.3f} {score['recall']:.3f} {score['f1']:.3f}".rjust(24))
        lines.append(title.ljust(width) + "".join(cells))
    return "\n".join(lines)


def write_json(results: Any, path: str | Path) -> None:
    from govtargets.outputs import atomic_write

    with atomic_write(path) as out:
        out.write(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
