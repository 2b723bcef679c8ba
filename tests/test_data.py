"""data.py without a server: Label Studio JSON ↔ spans ↔ character BIO ↔ datasets.Dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from govtargets.data import (
    BIO_TAGS,
    AnnotationError,
    LabeledText,
    bio_to_spans,
    from_dataset,
    index_to_utf16,
    labeled_to_task,
    read_annotations,
    select_annotation,
    spans_to_bio,
    spans_to_results,
    task_to_labeled,
    tasks_to_labeled,
    to_dataset,
    utf16_to_index,
)
from govtargets.records import Span

# Full-width digits and letters, traditional characters and astral characters (emoji, and a CJK
# Extension B character) before and inside spans.
TEXT = "😀地区生产总值增长５.５％左右，ＧＤＰ達到１００億元；𠀋𠀋新建𠀋廠項目開工。"


def region(rid: str, label: str, start: int, end: int, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": rid, "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text, "labels": [label]}, **extra}


def relation(source: str, target: str, direction: str = "right") -> dict[str, Any]:
    return {"from_id": source, "to_id": target, "type": "relation", "direction": direction,
            "labels": ["has_value"]}


def span_at(label: str, text: str, piece: str, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(piece, start + 1)
    return Span(label, start, start + len(piece), piece)


GOLD = [
    span_at("INDICATOR", TEXT, "地区生产总值"),
    span_at("VALUE", TEXT, "５.５"),
    span_at("UNIT", TEXT, "％"),
    span_at("INDICATOR", TEXT, "ＧＤＰ"),
    span_at("VALUE", TEXT, "１００"),
    span_at("UNIT", TEXT, "億元"),
    span_at("PROJECT", TEXT, "𠀋廠項目"),
]


def task(results: list[dict[str, Any]], task_id: int = 7, **annotation: Any) -> dict[str, Any]:
    return {"id": task_id, "data": {"text": TEXT, "doc": "report.txt", "offset": 40, "key": "abc"},
            "annotations": [{"id": 1, "result": results, "was_cancelled": False, "ground_truth": False,
                             "updated_at": "2024-01-02T03:04:05.000000Z", **annotation}]}


def gold_results() -> list[dict[str, Any]]:
    return [region(f"r{i}", s.label, s.start, s.end, s.text) for i, s in enumerate(GOLD)]


def test_gold_offsets_are_code_points() -> None:
    # The emoji is one character in Python (and in Label Studio's stored offsets), two UTF-16 units.
    assert GOLD[0].start == 1
    assert index_to_utf16(TEXT, GOLD[0].start) == 2
    for span in GOLD:
        assert TEXT[span.start : span.end] == span.text


def test_label_studio_json_round_trip_through_bio_and_dataset() -> None:
    results = [*gold_results(), relation("r0", "r1"), relation("r3", "r4")]
    labeled = task_to_labeled(task(results))
    assert labeled is not None
    assert labeled.spans == GOLD
    assert labeled.relations == [(0, 1, "has_value"), (3, 4, "has_value")]
    assert labeled.task_id == 7
    assert labeled.meta == {"doc": "report.txt", "offset": 40, "key": "abc"}

    tags = spans_to_bio(labeled.text, labeled.spans)
    assert len(tags) == len(TEXT)
    assert tags[1:8] == ["B-INDICATOR"] + ["I-INDICATOR"] * 5 + ["O"]
    assert bio_to_spans(TEXT, tags) == GOLD

    dataset = to_dataset([labeled])
    assert dataset.features["ner_tags"].feature.names == list(BIO_TAGS)
    row = dataset[0]
    assert row["tokens"] == list(TEXT)
    assert (row["id"], row["doc"], row["offset"]) == ("abc", "report.txt", 40)
    back = from_dataset(dataset)
    assert back[0].text == TEXT
    assert back[0].spans == GOLD

    # And back to Label Studio JSON: the written task converts to the same spans and relations.
    exported = labeled_to_task(labeled)
    assert json.loads(json.dumps(exported, ensure_ascii=False)) == exported
    again = task_to_labeled(exported)
    assert again is not None
    assert (again.spans, again.relations) == (labeled.spans, labeled.relations)
    for item in exported["annotations"][0]["result"]:
        if item["type"] == "labels":
            value = item["value"]
            assert TEXT[value["start"] : value["end"]] == value["text"]


def test_utf16_offsets_from_older_front_ends_are_converted() -> None:
    # Label Studio before the code-point fix stored JS string offsets (issue #1347): after an astral
    # character every offset is larger by one per astral character.
    results = [region(f"r{i}", s.label, index_to_utf16(TEXT, s.start), index_to_utf16(TEXT, s.end), s.text)
               for i, s in enumerate(GOLD)]
    labeled = task_to_labeled(task(results))
    assert labeled is not None
    assert labeled.spans == GOLD


def test_utf16_helpers() -> None:
    text = "a😀b"
    assert [utf16_to_index(text, unit) for unit in range(5)] == [0, 1, None, 2, 3]
    assert [index_to_utf16(text, i) for i in range(4)] == [0, 1, 3, 4]


def test_whitespace_at_span_edges_is_trimmed() -> None:
    text = "全年 地区生产总值\u3000增长 7 %"
    results = [region("a", "INDICATOR", 2, 10, " 地区生产总值\u3000"), region("b", "VALUE", 12, 15, " 7 ")]
    item = {"id": 3, "data": {"text": text}, "annotations": [{"result": results}]}
    labeled = task_to_labeled(item)
    assert labeled is not None
    assert [(s.label, s.start, s.end, s.text) for s in labeled.spans] == [
        ("INDICATOR", 3, 9, "地区生产总值"), ("VALUE", 13, 14, "7")]


def test_overlapping_spans_are_rejected_naming_the_task() -> None:
    results = [region("a", "INDICATOR", 1, 7, "地区生产总值"), region("b", "VALUE", 5, 9, TEXT[5:9])]
    with pytest.raises(AnnotationError, match=r"task 42: spans overlap: INDICATOR 1-7"):
        task_to_labeled(task(results, task_id=42))


def test_span_that_does_not_match_its_text_is_rejected_naming_the_task() -> None:
    results = [region("a", "INDICATOR", 1, 7, "国内生产总值")]
    with pytest.raises(AnnotationError, match=r"task 42: INDICATOR region 1-7 '国内生产总值' does not match"):
        task_to_labeled(task(results, task_id=42))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (region("a", "TARGET", 1, 7, "地区生产总值"), "unknown label 'TARGET'"),
        ({**region("a", "VALUE", 1, 7, "地区生产总值"),
          "value": {"start": 1, "end": 7, "text": "地区生产总值", "labels": ["VALUE", "UNIT"]}},
         "expected exactly one"),
        (region("a", "VALUE", 7, 8, "增"), None),
    ],
)
def test_region_problems(bad: dict[str, Any], message: str | None) -> None:
    if message is None:
        labeled = task_to_labeled(task([bad]))
        assert labeled is not None and labeled.spans == [Span("VALUE", 7, 8, "增")]
    else:
        with pytest.raises(AnnotationError, match=message):
            task_to_labeled(task([bad]))


def test_whitespace_only_region_is_rejected() -> None:
    only_space = region("a", "VALUE", 2, 3, " ")
    item = {"id": 5, "data": {"text": "增长 7%"}, "annotations": [{"result": [only_space]}]}
    with pytest.raises(AnnotationError, match="task 5: VALUE region 2-3 contains only whitespace"):
        task_to_labeled(item)


def test_relations_left_direction_and_dangling_ids() -> None:
    left = task_to_labeled(task([*gold_results(), relation("r1", "r0", direction="left")]))
    assert left is not None and left.relations == [(0, 1, "has_value")]
    with pytest.raises(AnnotationError, match="relation 'r0' → 'gone'"):
        task_to_labeled(task([*gold_results(), relation("r0", "gone")]))


def test_annotation_choice_skips_cancelled_prefers_ground_truth_else_latest() -> None:
    def annotation(aid: int, updated: str, **flags: Any) -> dict[str, Any]:
        return {"id": aid, "updated_at": updated, "result": [], "was_cancelled": False, "ground_truth": False,
                **flags}

    older = annotation(1, "2024-01-01T10:00:00Z")
    newer = annotation(2, "2024-03-01T10:00:00+08:00")
    cancelled = annotation(3, "2024-05-01T10:00:00Z", was_cancelled=True)
    truth = annotation(4, "2023-01-01T10:00:00Z", ground_truth=True)
    chosen = select_annotation({"annotations": [older, newer, cancelled]})
    assert chosen is not None and chosen["id"] == 2
    chosen = select_annotation({"annotations": [older, truth, newer]})
    assert chosen is not None and chosen["id"] == 4
    assert select_annotation({"annotations": [cancelled]}) is None
    assert select_annotation({"annotations": []}) is None
    # A task whose only annotation was skipped yields nothing, the others convert.
    tasks = [task(gold_results()), {**task([]), "annotations": [cancelled]}]
    assert [item.task_id for item in tasks_to_labeled(tasks)] == [7]


def test_bio_decoding_is_lenient_about_ill_formed_tags() -> None:
    text = "增长5%左右增长6%"
    tags = ["O", "O", "B-VALUE", "B-UNIT", "O", "O", "O", "O", "I-VALUE", "I-UNIT"]
    assert [(s.label, s.text) for s in bio_to_spans(text, tags)] == [
        ("VALUE", "5"), ("UNIT", "%"), ("VALUE", "6"), ("UNIT", "%")]
    with pytest.raises(AnnotationError, match="3 tags for a text of 2 characters"):
        bio_to_spans("增长", ["O", "O", "O"])


def test_export_rejects_bad_spans() -> None:
    with pytest.raises(AnnotationError, match="does not match"):
        spans_to_results(TEXT, [Span("VALUE", 0, 2, "地区")])
    with pytest.raises(AnnotationError, match="must be sorted"):
        spans_to_results(TEXT, [GOLD[1], GOLD[0]])
    with pytest.raises(AnnotationError, match="spans overlap"):
        to_dataset([LabeledText(TEXT, [GOLD[0], Span("VALUE", 2, 4, TEXT[2:4])])])


def test_read_annotations(tmp_path: Path) -> None:
    path = tmp_path / "gold.json"
    path.write_text(json.dumps([task(gold_results())], ensure_ascii=False), encoding="utf-8")
    assert [item.spans for item in read_annotations(path)] == [GOLD]
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(AnnotationError, match="expected a JSON list of tasks"):
        read_annotations(path)
    path.write_text(json.dumps([task([region("a", "VALUE", 1, 2, "x")])]), encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"gold\.json: task 7: VALUE region 1-2 'x'"):
        read_annotations(path)
