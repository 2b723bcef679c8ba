"""Evaluation: seqeval entity scores cross-checked by counting spans, target levels, gold loading."""

import random
from pathlib import Path

import pytest

from govtargets.data import LabeledText
from govtargets.evaluation import (
    EvaluationError,
    GoldSentence,
    entity_scores,
    evaluate,
    gold_sentences,
    target_scores,
)
from govtargets.records import LABELS, Span
from govtargets.rules import RuleBackend

ROOT = Path(__file__).resolve().parents[1]


def span(text: str, label: str, piece: str, after: int = 0) -> Span:
    start = text.index(piece, after)
    return Span(label, start, start + len(piece), piece)


def random_spans(rng: random.Random, length: int) -> list[Span]:
    spans, at = [], 0
    while at < length - 1:
        start = rng.randrange(at, length)
        end = min(length, start + rng.randint(1, 4))
        if rng.random() < 0.6:
            spans.append(Span(rng.choice(LABELS), start, end, "x" * (end - start)))
        at = end + rng.randint(0, 2)
    return spans


def test_entity_scores_agree_with_counting_exact_spans() -> None:
    rng = random.Random(7)
    texts = ["x" * rng.randint(5, 40) for _ in range(60)]
    gold = [random_spans(rng, len(t)) for t in texts]
    pred = [
        g[: len(g) // 2] + random_spans(rng, len(t)) if rng.random() < 0.5 else g
        for t, g in zip(texts, gold, strict=True)
    ]
    pred = [sorted({(s.start, s.end, s.label): s for s in p}.values(), key=lambda s: s.start) for p in pred]
    # overlapping predictions are not valid tag sequences: keep the first of any overlap
    cleaned = []
    for p in pred:
        keep, end = [], -1
        for s in p:
            if s.start >= end:
                keep.append(s)
                end = s.end
        cleaned.append(keep)
    scores = entity_scores(texts, gold, cleaned)
    for label in LABELS:
        g = {(i, s.start, s.end) for i, spans in enumerate(gold) for s in spans if s.label == label}
        p = {(i, s.start, s.end) for i, spans in enumerate(cleaned) for s in spans if s.label == label}
        precision = len(g & p) / len(p) if p else 0.0
        recall = len(g & p) / len(g) if g else 0.0
        assert scores[label]["precision"] == pytest.approx(precision, abs=1e-4)
        assert scores[label]["recall"] == pytest.approx(recall, abs=1e-4)
        assert scores[label]["support"] == len(g)


def test_boundary_error_counts_as_a_miss_and_a_false_alarm() -> None:
    text = "地区生产总值增长7%左右"
    gold = [[span(text, "INDICATOR", "地区生产总值"), span(text, "VALUE", "7"), span(text, "UNIT", "%")]]
    pred = [[span(text, "INDICATOR", "生产总值"), span(text, "VALUE", "7"), span(text, "UNIT", "%")]]
    scores = entity_scores([text], gold, pred)
    assert scores["INDICATOR"]["f1"] == 0.0 and scores["VALUE"]["f1"] == 1.0
    assert scores["all"]["precision"] == pytest.approx(2 / 3, abs=1e-4)


def test_target_levels() -> None:
    text = "地区生产总值增长7%左右"
    gold_spans = [span(text, "INDICATOR", "地区生产总值"), span(text, "VALUE", "7"), span(text, "UNIT", "%")]
    sentence = GoldSentence("d", text, text, "plan", gold_spans)
    # The indicator is missed: value+unit still right, the linked levels wrong.
    scores = target_scores([sentence], [gold_spans[1:]])
    assert scores["value_unit"]["f1"] == 1.0
    assert scores["linked"]["f1"] == 0.0 and scores["with_status"]["f1"] == 0.0
    assert target_scores([sentence], [gold_spans])["with_status"]["f1"] == 1.0


def test_gold_paragraphs_are_cut_into_document_sentences() -> None:
    doc = "data/seeds/004_515bb48870d70d20.txt"
    from govtargets.evaluation import _document

    document = _document(doc)
    start, end = next((a, b) for a, b in document.paragraphs if "地区生产总值预期175亿元" in document.text[a:b])
    text = document.text[start:end]
    item = LabeledText(text, [span(text, "INDICATOR", "地区生产总值"), span(text, "VALUE", "175")],
                       meta={"doc": doc, "offset": start})
    sentences = gold_sentences([item])
    assert len(sentences) > 1
    [first] = [s for s in sentences if s.spans]
    assert [(s.label, first.text[s.start : s.end]) for s in first.spans] == [("INDICATOR", "地区生产总值"),
                                                                             ("VALUE", "175")]
    assert first.section == "plan"
    result = evaluate(sentences, RuleBackend())
    assert result["entities"]["VALUE"]["recall"] == 1.0  # the rules find 175 too


def test_outdated_gold_is_an_error() -> None:
    item = LabeledText("这段文字不在文件里", [], meta={"doc": "data/seeds/004_515bb48870d70d20.txt", "offset": 0})
    with pytest.raises(EvaluationError, match="text differs"):
        gold_sentences([item])
    with pytest.raises(EvaluationError, match="not found"):
        gold_sentences([LabeledText("x", [], meta={"doc": "nowhere.txt", "offset": 0})])
