"""The CRF baseline: trains on the tiny gold fixture in seconds, tags it back, keeps offsets exact."""

import json
from pathlib import Path

import pytest

from govtargets.crf import (
    FEATURE_VERSION,
    CrfBackend,
    CrfError,
    char_class,
    char_features,
    read_metadata,
    sentence_pieces,
    sidecar_path,
    train_crf,
    unit_matches,
)
from govtargets.evaluation import evaluate, load_gold

ROOT = Path(__file__).resolve().parents[1]
TRAIN_GOLD = ROOT / "tests" / "fixtures" / "ner" / "gold" / "train.json"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crf") / "crf.model"
    train_crf([TRAIN_GOLD], path, c1=0.05, c2=0.05, max_iterations=100)
    return path


def test_training_writes_the_model_and_its_metadata(model: Path) -> None:
    meta = read_metadata(model)
    assert meta is not None and meta["feature_version"] == FEATURE_VERSION
    assert meta["train_files"] == ["train.json"] and meta["sequences"] > 1 and meta["characters"] > 100
    assert meta["model_bytes"] == model.stat().st_size
    assert not [p for p in model.parent.iterdir() if p.name.endswith(".partial")]


def test_tags_its_training_paragraphs_back(model: Path) -> None:
    scores = evaluate(load_gold([TRAIN_GOLD]), CrfBackend(model))
    assert scores["backend"] == "crf"
    assert scores["entities"]["all"]["f1"] >= 0.95
    assert scores["entities"]["VALUE"]["f1"] >= 0.95 and scores["entities"]["UNIT"]["f1"] >= 0.95
    assert scores["targets"]["value_unit"]["f1"] >= 0.95


def test_empty_input_and_offsets(model: Path) -> None:
    backend = CrfBackend(model)
    assert backend.tag([]) == []
    assert backend.tag([""]) == [[]]
    assert backend.tag(["   "]) == [[]]
    sentences = ["地区生产总值预期175亿元,增长17%,力争177亿元", "  财政总收入预期14.1亿元 , 增长23.7%  ", "。"]
    tagged = backend.tag(sentences)
    assert len(tagged) == len(sentences)
    labels = {span.label for span in tagged[0]}
    assert {"VALUE", "UNIT"} <= labels
    for sentence, spans in zip(sentences, tagged, strict=True):
        previous_end = 0
        for span in spans:
            assert sentence[span.start : span.end] == span.text
            assert span.text == span.text.strip() and span.text
            assert previous_end <= span.start < span.end <= len(sentence)
            assert 0 < span.score <= 1
            previous_end = span.end


def test_stale_or_missing_models_are_refused(model: Path, tmp_path: Path) -> None:
    with pytest.raises(CrfError, match="no CRF model file"):
        CrfBackend(tmp_path / "none.model")
    copy = tmp_path / "old.model"
    copy.write_bytes(model.read_bytes())
    meta = json.loads(sidecar_path(model).read_text(encoding="utf-8"))
    sidecar_path(copy).write_text(json.dumps({**meta, "feature_version": FEATURE_VERSION - 1}), encoding="utf-8")
    with pytest.raises(CrfError, match="retrain"):
        CrfBackend(copy)
    broken = tmp_path / "broken.model"
    broken.write_bytes(b"not a model")
    with pytest.raises(CrfError, match="not a CRFsuite model"):
        CrfBackend(broken)


def test_training_needs_annotated_spans(tmp_path: Path) -> None:
    with pytest.raises(CrfError, match="no training files"):
        train_crf([], tmp_path / "m")
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps([{"id": 1, "data": {"text": "没有数字。"}, "annotations": [{"result": []}]}]),
                     encoding="utf-8")
    with pytest.raises(CrfError, match="no annotated span"):
        train_crf([empty], tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_features() -> None:
    text = "增长17%,达到五亿元"
    features = char_features(text)
    assert len(features) == len(text)
    assert features[0]["c-1"] == "<s1>" and features[-1]["c+1"] == "</s1>"
    assert features[2]["digit"] and features[2]["c-1c0"] == "长1"
    assert features[8]["cn_numeral"] and features[5]["punct"] and not features[6]["cn_numeral"]
    assert [char_class(c) for c in "7七,a 增"] == ["D", "N", "P", "L", "S", "H"]
    # 亿元 starts at 9 and covers 10; % (a one-character unit) at 4.
    matches = unit_matches(text)
    assert matches[9] == 2 and matches[4] == 1 and matches[6] == 0
    assert features[10]["unit_in"] and not features[9]["unit_in"] and features[9]["unit_start"] == "2"
    assert char_features("") == []


def test_sentence_pieces_never_cut_a_span() -> None:
    text = "增长7%。目标;其余"
    tags = ["O", "O", "B-VALUE", "B-UNIT", "O", "O", "O", "O", "O", "O"]
    pieces = sentence_pieces(text, tags)
    assert [p for p, _ in pieces] == ["增长7%。", "目标;", "其余"]
    assert all(len(p) == len(t) for p, t in pieces)
    # A span that runs over a ";" keeps its sentence together.
    joined = sentence_pieces("甲;乙", ["B-PROJECT", "I-PROJECT", "I-PROJECT"])
    assert joined == [("甲;乙", ["B-PROJECT", "I-PROJECT", "I-PROJECT"])]
