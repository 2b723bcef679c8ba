"""Annotation data: Label Studio JSON ↔ our `Span`s ↔ character-level BIO examples (`datasets.Dataset`).

Independent of any server: training and evaluation read annotation files through this module.

Offsets. Label Studio's text editor (1.x, including 1.23) stores `start`/`end` of a `<Text>` region in
Unicode code points (it converts the browser's UTF-16 selection with `[...text].length`), which are
Python string indices. Older front ends and some other tools wrote UTF-16 code units instead (Label
Studio issues #1347, #1008): an astral character such as an emoji then counts twice. On import we take
the offsets as code points and, only when that does not reproduce the region's stored text, try them as
UTF-16 units; a region that matches neither is rejected. On export we always write code points.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from datasets import ClassLabel, Dataset, Features, Value
from datasets import Sequence as HFSequence

from govtargets.records import LABELS, Span

# Names used in annotations/label_config.xml: the Labels control, the Text object and the task field.
FROM_NAME = "label"
TO_NAME = "text"
TEXT_KEY = "text"
# The one relation type of the config: an INDICATOR pointing at one of its VALUEs.
RELATION_LABEL = "has_value"

BIO_TAGS: tuple[str, ...] = ("O", *(f"{prefix}-{label}" for label in LABELS for prefix in ("B", "I")))
TAG2ID: dict[str, int] = {tag: i for i, tag in enumerate(BIO_TAGS)}

# (index of the source span, index of the target span, relation label) into LabeledText.spans.
Relation = tuple[int, int, str]


class AnnotationError(ValueError):
    """An annotation that cannot be converted faithfully (overlap, offsets that miss their text…)."""


@dataclass
class LabeledText:
    """One annotated text (a Label Studio task with its chosen annotation).

    `spans` are sorted by offset, never overlap, and satisfy `text[s.start:s.end] == s.text`.
    `meta` is the task data apart from the text (document id, paragraph offset, title, key…).
    """

    text: str
    spans: list[Span]
    relations: list[Relation] = field(default_factory=list)
    task_id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"task {self.task_id}" if self.task_id is not None else f"text {self.text[:20]!r}"


# --- offsets -------------------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_to_index(text: str, unit: int) -> int | None:
    """The Python index at UTF-16 offset `unit`, or None when it falls inside a surrogate pair."""
    position = 0
    for index, char in enumerate(text):
        if position == unit:
            return index
        position += 2 if ord(char) > 0xFFFF else 1
        if position > unit:
            return None
    return len(text) if position == unit else None


def index_to_utf16(text: str, index: int) -> int:
    return utf16_length(text[:index])


def _check_slice(text: str, span: Span, where: str) -> None:
    # An explicit check, not `assert`: it must hold under `python -O` too.
    if not (0 <= span.start < span.end <= len(text)) or text[span.start : span.end] != span.text:
        raise AnnotationError(
            f"{where}: {span.label} span {span.start}-{span.end} {span.text!r} does not match the text "
            f"there ({text[span.start : span.end]!r})"
        )


def _resolve_offsets(text: str, start: int, end: int, stored: str | None) -> tuple[int, int] | None:
    """Python offsets for a region, code points first, UTF-16 units as the fallback (see module doc)."""
    if stored is None or text[start:end] == stored:
        return start, end
    py_start, py_end = utf16_to_index(text, start), utf16_to_index(text, end)
    if py_start is not None and py_end is not None and text[py_start:py_end] == stored:
        return py_start, py_end
    return None


def trim_span(text: str, span: Span) -> Span | None:
    """The span without whitespace (ASCII or full-width) at its edges; None if nothing is left."""
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:
        return None
    return Span(span.label, start, end, text[start:end], span.score)


def check_spans(text: str, spans: Sequence[Span], where: str) -> list[Span]:
    """Spans sorted by offset; raises AnnotationError on unknown labels, mismatched text or overlap."""
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    for span in ordered:
        if span.label not in LABELS:
            raise AnnotationError(
                f"{where}: unknown label {span.label!r} (expected one of {', '.join(LABELS)})"
            )
        _check_slice(text, span, where)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise AnnotationError(
                f"{where}: spans overlap: {before.label} {before.start}-{before.end} {before.text!r} and "
                f"{after.label} {after.start}-{after.end} {after.text!r}"
            )
    return ordered


# --- Label Studio JSON → spans ----------------------------------------------------------------------


def results_to_spans(
    text: str, results: Sequence[dict[str, Any]], where: str
) -> tuple[list[Span], list[Relation]]:
    """Spans and relations from a Label Studio `result` list (an annotation's or a prediction's)."""
    regions: list[tuple[str | None, Span]] = []
    for item in results:
        if item.get("type") != "labels" or item.get("from_name") != FROM_NAME:
            continue
        value = item.get("value", {})
        labels = value.get("labels", [])
        if len(labels) != 1:
            raise AnnotationError(
                f"{where}: region {item.get('id')!r} has labels {labels}, expected exactly one"
            )
        start, end, stored = int(value["start"]), int(value["end"]), value.get("text")
        resolved = _resolve_offsets(text, start, end, stored)
        if resolved is None:
            raise AnnotationError(
                f"{where}: {labels[0]} region {start}-{end} {stored!r} does not match the text there "
                f"({text[start:end]!r}), neither as code points nor as UTF-16 offsets"
            )
        score = float(item.get("score", 1.0))
        span = trim_span(text, Span(labels[0], *resolved, text[resolved[0] : resolved[1]], score))
        if span is None:
            raise AnnotationError(f"{where}: {labels[0]} region {start}-{end} contains only whitespace")
        regions.append((item.get("id"), span))

    spans = check_spans(text, [span for _, span in regions], where)
    index_of_region: dict[str, int] = {}
    for region_id, span in regions:
        if region_id is not None:
            index_of_region[region_id] = spans.index(span)

    relations: list[Relation] = []
    for item in results:
        if item.get("type") != "relation":
            continue
        source, target = item.get("from_id"), item.get("to_id")
        if source not in index_of_region or target not in index_of_region:
            raise AnnotationError(
                f"{where}: relation {source!r} → {target!r} points at a region that is not a span"
            )
        # A "left" arrow in Label Studio points from to_id back to from_id.
        if item.get("direction") == "left":
            source, target = target, source
        labels = item.get("labels") or [""]
        relations.append((index_of_region[source], index_of_region[target], labels[0]))
    return spans, sorted(set(relations))


def _timestamp(annotation: dict[str, Any]) -> tuple[datetime, int]:
    stamp = annotation.get("updated_at") or annotation.get("created_at") or ""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        moment = datetime.min
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment, int(annotation.get("id") or 0)


def select_annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    """The annotation that counts for a task: cancelled/skipped ones are ignored; of the rest the
    ground-truth one, else the most recently updated. None if no annotation is left."""
    finished = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
    if not finished:
        return None
    ground_truth = [a for a in finished if a.get("ground_truth")]
    return max(ground_truth or finished, key=_timestamp)


def task_to_labeled(task: dict[str, Any]) -> LabeledText | None:
    """The chosen annotation of a Label Studio task as a LabeledText; None when it has none."""
    annotation = select_annotation(task)
    if annotation is None:
        return None
    data = task.get("data", {})
    task_id = task.get("id")
    where = f"task {task_id}" if task_id is not None else f"task {data.get('key', '?')}"
    if not isinstance(data.get(TEXT_KEY), str):
        raise AnnotationError(f"{where}: task data has no {TEXT_KEY!r} string")
    text = data[TEXT_KEY]
    spans, relations = results_to_spans(text, annotation.get("result", []), where)
    meta = {key: value for key, value in data.items() if key != TEXT_KEY}
    return LabeledText(text, spans, relations, task_id, meta)


def tasks_to_labeled(tasks: Iterable[dict[str, Any]]) -> list[LabeledText]:
    """Every task with a finished annotation, converted (errors name the task)."""
    labeled = (task_to_labeled(task) for task in tasks)
    return [item for item in labeled if item is not None]


def read_annotations(path: str | Path) -> list[LabeledText]:
    """An annotation file of the repository (a Label Studio JSON export, see `govtargets ls pull`)."""
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise AnnotationError(f"{path}: cannot read a Label Studio JSON export: {err}") from err
    if not isinstance(tasks, list):
        raise AnnotationError(f"{path}: expected a JSON list of tasks")
    try:
        return tasks_to_labeled(tasks)
    except AnnotationError as err:
        raise AnnotationError(f"{path}: {err}") from err


# --- spans → Label Studio JSON ----------------------------------------------------------------------


def spans_to_results(
    text: str, spans: Sequence[Span], relations: Sequence[Relation] = (), where: str = "export",
    with_scores: bool = False,
) -> list[dict[str, Any]]:
    """A Label Studio `result` list for spans (code-point offsets) and relations between them."""
    ordered = check_spans(text, spans, where)
    if list(ordered) != list(spans):
        # Relations refer to positions in `spans`; re-sorting would silently re-point them.
        raise AnnotationError(f"{where}: spans must be sorted by offset")
    results: list[dict[str, Any]] = []
    for index, span in enumerate(ordered):
        item: dict[str, Any] = {
            "id": f"s{index}",
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "type": "labels",
            "value": {"start": span.start, "end": span.end, "text": span.text, "labels": [span.label]},
        }
        if with_scores:
            item["score"] = round(span.score, 4)
        results.append(item)
    for source, target, label in relations:
        if not (0 <= source < len(ordered) and 0 <= target < len(ordered)):
            raise AnnotationError(f"{where}: relation {source} → {target} refers to a missing span")
        relation: dict[str, Any] = {"from_id": f"s{source}", "to_id": f"s{target}", "type": "relation",
                                    "direction": "right"}
        if label:
            relation["labels"] = [label]
        results.append(relation)
    return results


def labeled_to_task(item: LabeledText) -> dict[str, Any]:
    """A Label Studio task (data + one annotation) for a LabeledText, importable into Label Studio."""
    results = spans_to_results(item.text, item.spans, item.relations, item.name)
    task: dict[str, Any] = {"data": {TEXT_KEY: item.text, **item.meta}, "annotations": [{"result": results}]}
    if item.task_id is not None:
        task["id"] = item.task_id
    return task


# --- BIO and datasets -------------------------------------------------------------------------------


def spans_to_bio(text: str, spans: Sequence[Span], where: str = "text") -> list[str]:
    """One BIO tag per character of `text` (code points, so tags[i] belongs to text[i])."""
    tags = ["O"] * len(text)
    for span in check_spans(text, spans, where):
        tags[span.start] = f"B-{span.label}"
        for i in range(span.start + 1, span.end):
            tags[i] = f"I-{span.label}"
    return tags


def bio_to_spans(text: str, tags: Sequence[str]) -> list[Span]:
    """Spans from character BIO tags. An I- tag after O or another label starts a span (lenient
    decoding, as model output may be ill-formed)."""
    if len(tags) != len(text):
        raise AnnotationError(f"{len(tags)} tags for a text of {len(text)} characters")
    spans: list[Span] = []
    start, label = 0, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, kind = tag.partition("-")
        continues = prefix == "I" and kind == label
        if label is not None and not continues:
            spans.append(Span(label, start, i, text[start:i]))
            label = None
        if prefix in ("B", "I") and not continues:
            if kind not in LABELS:
                raise AnnotationError(f"unknown tag {tag!r} at character {i}")
            start, label = i, kind
    return spans


DATASET_FEATURES = Features({
    "id": Value("string"),
    "doc": Value("string"),
    "offset": Value("int64"),
    "text": Value("string"),
    "tokens": HFSequence(Value("string")),
    "ner_tags": HFSequence(ClassLabel(names=list(BIO_TAGS))),
})


def example_id(item: LabeledText) -> str:
    if item.meta.get("key"):
        return str(item.meta["key"])
    return str(item.task_id) if item.task_id is not None else ""


def to_dataset(items: Sequence[LabeledText]) -> Dataset:
    """Character-level token classification examples: `tokens` are the characters of `text` (every
    one, spaces included, so token i is text[i]) and `ner_tags` their BIO ids (see BIO_TAGS)."""
    rows: dict[str, list[Any]] = {name: [] for name in DATASET_FEATURES}
    for item in items:
        tags = spans_to_bio(item.text, item.spans, item.name)
        rows["id"].append(example_id(item))
        rows["doc"].append(str(item.meta.get("doc", "")))
        rows["offset"].append(int(item.meta.get("offset", 0)))
        rows["text"].append(item.text)
        rows["tokens"].append(list(item.text))
        rows["ner_tags"].append([TAG2ID[tag] for tag in tags])
    return Dataset.from_dict(rows, features=DATASET_FEATURES)


def from_dataset(dataset: Dataset) -> list[LabeledText]:
    """LabeledTexts back from a dataset made by `to_dataset` (relations are not part of it)."""
    items: list[LabeledText] = []
    for row in dataset:
        text = row["text"]
        if "".join(row["tokens"]) != text:
            raise AnnotationError(f"example {row['id']!r}: tokens are not the characters of its text")
        spans = bio_to_spans(text, [BIO_TAGS[i] for i in row["ner_tags"]])
        items.append(LabeledText(text, spans, [], None, {"key": row["id"], "doc": row["doc"],
                                                           "offset": row["offset"]}))
    return items
