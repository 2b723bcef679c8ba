import itertools

import numpy as np
import pytest

from govtargets.data import BIO_TAGS
from govtargets.tagging import ModelBackend, bio_constraints, decode_bio, viterbi


def char_offsets(text: str) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(len(text))]


def test_decode_respects_b_and_i_and_never_merges_across_o() -> None:
    text = "增长5%左右增长6%"
    tags = ["O", "O", "B-VALUE", "B-UNIT", "O", "O", "O", "O", "I-VALUE", "B-UNIT"]
    spans = decode_bio(tags, [0.9] * len(tags), char_offsets(text), text)
    assert [(s.label, s.text) for s in spans] == [("VALUE", "5"), ("UNIT", "%"), ("VALUE", "6"), ("UNIT", "%")]
    for span in spans:
        assert text[span.start : span.end] == span.text


def test_decode_label_change_inside_i_run_starts_a_new_span() -> None:
    text = "地区生产总值"
    tags = ["B-INDICATOR", "I-INDICATOR", "I-PROJECT", "I-PROJECT", "I-INDICATOR", "I-INDICATOR"]
    spans = decode_bio(tags, [1.0] * 6, char_offsets(text), text)
    assert [(s.label, s.text) for s in spans] == [("INDICATOR", "地区"), ("PROJECT", "生产"), ("INDICATOR", "总值")]


def test_decode_uses_token_offsets_and_trims_spaces() -> None:
    text = "实际使用外资 1.1亿美元"
    # wordpiece-style tokens: "1.1" is one token, the space belongs to no token
    offsets = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (7, 10), (10, 11), (11, 12), (12, 13)]
    tags = ["B-INDICATOR"] + ["I-INDICATOR"] * 5 + ["B-VALUE", "B-UNIT", "I-UNIT", "I-UNIT"]
    scores = [0.5] * 6 + [0.8, 0.6, 0.7, 0.8]
    spans = decode_bio(tags, scores, offsets, text)
    assert [(s.label, s.text, s.start, s.end) for s in spans] == [
        ("INDICATOR", "实际使用外资", 0, 6), ("VALUE", "1.1", 7, 10), ("UNIT", "亿美元", 10, 13)]
    assert abs(spans[2].score - 0.7) < 1e-9


def test_decode_empty() -> None:
    assert decode_bio([], [], [], "") == []


def test_windows_cover_every_token_with_overlap() -> None:
    backend = ModelBackend.__new__(ModelBackend)
    backend.window, backend.stride = 10, 4
    ids = list(range(27))
    windows = backend._windows(0, ids)
    covered = sorted({w.first + k for w in windows for k in range(len(w.ids))})
    assert covered == ids
    assert all(len(w.ids) <= 10 for w in windows)
    assert [w.first for w in windows] == [0, 6, 12, 18]
    assert backend._windows(1, ids[:10])[0].ids == ids[:10]


def valid_bio(tags: list[str]) -> bool:
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


def test_viterbi_keeps_a_name_whole_where_one_token_leans_to_o() -> None:
    text = "铁路专用线"
    tags = ["O", "B-PROJECT", "I-PROJECT"]
    probs = np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.55, 0.0, 0.45], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8]])
    argmax = [tags[i] for i in probs.argmax(1)]
    assert [s.text for s in decode_bio(argmax, [1.0] * 5, char_offsets(text), text)] == ["铁路", "用线"]
    best = [tags[i] for i in viterbi(np.log(probs + 1e-12), *bio_constraints(tags))]
    assert best == ["B-PROJECT"] + ["I-PROJECT"] * 4


def test_viterbi_matches_brute_force_and_is_always_valid_bio() -> None:
    tags = list(BIO_TAGS)
    start, step = bio_constraints(tags)
    rng = np.random.default_rng(0)
    for length in (1, 2, 3, 4):
        for _ in range(5):
            log_probs = np.log(rng.dirichlet(np.ones(len(tags)) * 0.3, size=length))
            path = viterbi(log_probs, start, step)
            assert valid_bio([tags[i] for i in path])
            best = max((p for p in itertools.product(range(len(tags)), repeat=length)
                        if valid_bio([tags[i] for i in p])),
                       key=lambda p: sum(log_probs[k, i] for k, i in enumerate(p)))
            assert path == list(best)
    random_path = viterbi(np.log(rng.dirichlet(np.ones(len(tags)), size=200)), start, step)
    assert valid_bio([tags[i] for i in random_path])


def test_rule_token_types_follow_character_offsets_in_any_script() -> None:
    from govtargets.data import TAG2ID, spans_to_bio
    from govtargets.rules import RuleBackend
    from govtargets.tagging import rule_token_types

    # Emoji (outside the BMP), full-width digits and traditional characters: offsets are code points.
    texts = ("🎉全年地区生产总值增长６．５％左右，推动华虹二期等项目投产",
             "全年地區生產總值增長6.5%，城鎮新增就業1.2萬人")
    for text in texts:
        [spans] = RuleBackend().tag([text])
        assert spans
        offsets = [(0, 0)] + [(i, i + 1) for i in range(len(text))] + [(0, 0)]  # [CLS] chars [SEP]
        types = rule_token_types(text, spans, offsets)
        tags = spans_to_bio(text, spans, "rules")
        assert types == [0] + [TAG2ID[tag] for tag in tags] + [0]
        # A token of two characters takes the tag of its first one.
        assert rule_token_types(text, spans, [(spans[0].start, spans[0].start + 2)]) == [TAG2ID[f"B-{spans[0].label}"]]


def test_kept_rule_spans_replace_overlapping_model_spans_and_take_the_model_score() -> None:
    from govtargets.records import Span
    from govtargets.tagging import keep_rule_spans

    text = "推进同煤60万吨甲醇等项目，增长7%"
    tag_ids = {tag: i for i, tag in enumerate(BIO_TAGS)}
    offsets = [(i, i + 1) for i in range(len(text))]
    probs = np.full((len(text), len(BIO_TAGS)), 0.05)
    probs[2, tag_ids["B-PROJECT"]] = 0.4
    probs[3:10, tag_ids["I-PROJECT"]] = 0.7
    model = [Span("PROJECT", 3, 9, "煤60万吨甲"), Span("VALUE", 16, 17, "7", 0.9), Span("UNIT", 17, 18, "%", 0.9)]
    rules = [Span("PROJECT", 2, 10, "同煤60万吨甲醇", 0.8), Span("VALUE", 16, 17, "7", 0.9)]
    kept = keep_rule_spans(model, rules, frozenset({"PROJECT"}), probs, offsets, tag_ids)
    assert [(s.label, s.text) for s in kept] == [("PROJECT", "同煤60万吨甲醇"), ("VALUE", "7"), ("UNIT", "%")]
    assert kept[0].score == pytest.approx((0.4 + 7 * 0.7) / 8)
    for span in kept:
        assert text[span.start : span.end] == span.text
    # Other labels' rule spans are not kept, and without kept labels nothing changes.
    assert keep_rule_spans(model, rules, frozenset(), probs, offsets, tag_ids) == model
