"""The training recipe, run like transformers' run_ner tests: main() on a tiny fixture, then check
the saved model (spaCy-style overfitting: learn two paragraphs, tag them back, save, reload, same)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from govtargets.data import bio_to_spans
from govtargets.documents import read_file
from govtargets.evaluation import evaluate, load_gold
from govtargets.tagging import ModelBackend

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

import pretrain_mlm  # noqa: E402
import train_ner  # noqa: E402

TINY = str(ROOT / "training" / "configs" / "ner_tiny.yaml")
TRAIN_GOLD = ROOT / "tests" / "fixtures" / "ner" / "gold" / "train.json"


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pretrain") / "tiny"
    pretrain_mlm.main([str(ROOT / "training" / "configs" / "pretrain_tiny.yaml"), "--output_dir", str(out)])
    return out


def test_recipe_trains_evaluates_and_writes_a_model_folder(base_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    metrics = train_ner.main([TINY, "--base_model", str(base_model), "--output_dir", str(out),
                              "--num_train_epochs", "8"])
    assert metrics["train"]["loss_last"] < metrics["train"]["loss_first"]
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "MODEL_CARD.md", "metrics.json"} <= names
    assert not any(name.startswith("checkpoint-") for name in names)
    saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for split in ("dev", "test"):
        for backend in ("model", "rules"):
            scores = saved["evaluation"][split][backend]
            assert set(scores["entities"]) == {"INDICATOR", "VALUE", "UNIT", "PROJECT", "all"}
            assert set(scores["targets"]) == {"value_unit", "linked", "with_status"}
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "| entities VALUE |" in card
    bar = saved["shipping_bar"]
    assert set(bar["checks"]) == {"entities INDICATOR", "entities PROJECT", "targets value_unit", "targets linked",
                                  "targets with_status"}
    assert bar["passed"] == all(row["model"] > row["rules"] for row in bar["checks"].values())
    assert ("Passed:" if bar["passed"] else "Not passed:") in card

    tagger = ModelBackend(out)
    sentence = "地区生产总值预期175亿元，增长17%，力争177亿元"
    [spans] = tagger.tag([sentence])
    for span in spans:
        assert sentence[span.start : span.end] == span.text and 0 < span.score <= 1
    assert tagger.tag([]) == []
    assert tagger.tag([""]) == [[]]


def test_final_fit_trains_on_dev_too_and_says_so(base_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "final"
    with pytest.raises(ValueError, match="final_fit trains on dev"):
        train_ner.main([TINY, "--base_model", str(base_model), "--output_dir", str(out), "--final_fit", "true"])
    metrics = train_ner.main([TINY, "--base_model", str(base_model), "--output_dir", str(out), "--final_fit", "true",
                              "--num_train_epochs", "2", "--eval_strategy", "no", "--save_strategy", "no",
                              "--load_best_model_at_end", "false", "--swaps", "2"])
    files = train_ner.split_files(train_ner.DataArguments(annotations_dir=str(TRAIN_GOLD.parent),
                                                         splits=str(ROOT / "tests/fixtures/ner/splits.yaml")))
    assert metrics["data"]["train_documents"] == [p.stem for p in files["train"] + files["dev"]]
    assert metrics["data"]["dev_items"] == 0 and metrics["data"]["swap_examples"] > 0
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "Final fit" in card and "not a held-out score" in card


def test_overfit_two_paragraphs_then_save_and_reload(base_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "overfit"
    train_ner.main([TINY, "--base_model", str(base_model), "--output_dir", str(out), "--num_train_epochs", "60",
                    "--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false"])
    gold = load_gold([TRAIN_GOLD])
    first = ModelBackend(out)
    scores = evaluate(gold, first)["entities"]
    assert scores["VALUE"]["f1"] >= 0.9 and scores["UNIT"]["f1"] >= 0.9
    assert scores["all"]["f1"] >= 0.8
    sentences = [s.norm for s in gold]
    assert ModelBackend(out).tag(sentences) == first.tag(sentences)


def test_splits_must_be_by_document(tmp_path: Path) -> None:
    splits = tmp_path / "splits.yaml"
    splits.write_text("train: [train]\ndev: [train]\ntest: [test]\n", encoding="utf-8")
    args = train_ner.DataArguments(annotations_dir=str(TRAIN_GOLD.parent), splits=str(splits))
    with pytest.raises(ValueError, match="in both train and dev"):
        train_ner.split_files(args)


def test_crops_cut_only_outside_spans_and_keep_their_tags() -> None:
    text = "国内生产总值增长6.9%，城镇新增就业1312万人。"
    tags = ["B-INDICATOR"] + ["I-INDICATOR"] * 5 + ["O", "O", "B-VALUE", "I-VALUE", "I-VALUE", "B-UNIT", "O"]
    tags += ["B-INDICATOR"] + ["I-INDICATOR"] * 5 + ["B-VALUE"] + ["I-VALUE"] * 3 + ["B-UNIT", "I-UNIT", "O"]
    assert len(tags) == len(text)
    examples = [
        {"text": text, "tags": tags, "weight": 1.0},
        {"text": "没有目标的句子。", "tags": ["O"] * 8, "weight": 1.0},
    ]
    crops = train_ner.crop_examples(examples, 20, seed=1)
    assert crops and crops == train_ner.crop_examples(examples, 20, seed=1)  # seeded
    for crop in crops:
        start = text.index(crop["text"])
        assert crop["tags"] == tags[start : start + len(crop["text"])]
        assert not crop["tags"][0].startswith("I-")  # never starts inside a span
        end = start + len(crop["text"])
        assert end == len(text) or not tags[end].startswith("I-")  # never ends inside one
        assert len(crop["text"]) >= 6 and any(tag != "O" for tag in crop["tags"])
    assert train_ner.crop_examples(examples[1:], 20, seed=1) == []


def bio(parts: list[tuple[str, str]]) -> dict:
    """An example from (text, label or "") pieces, each labelled piece one span."""
    text = "".join(piece for piece, _ in parts)
    tags = [t for piece, label in parts
            for t in ([f"B-{label}"] + [f"I-{label}"] * (len(piece) - 1) if label else ["O"] * len(piece))]
    return {"text": text, "tags": tags, "weight": 1.0}


def test_swaps_replace_mentions_of_the_chosen_labels_only() -> None:
    examples = [
        bio([("推进", ""), ("铁路专用线", "PROJECT"), ("、", ""), ("恒力科研中心", "PROJECT"), ("等项目，投资", ""),
             ("5", "VALUE"), ("亿元", "UNIT"), ("。", "")]),
        bio([("年内", ""), ("会展中心", "PROJECT"), ("竣工，", ""), ("地区生产总值", "INDICATOR"), ("增长", ""),
             ("6", "VALUE"), ("%", "UNIT")]),
        bio([("没有项目的句子。", "")]),
    ]
    names = {"铁路专用线", "恒力科研中心", "会展中心"}
    swapped = train_ner.swap_examples(examples, 5, ["PROJECT"], seed=3)
    assert len(swapped) == 10 and swapped == train_ner.swap_examples(examples, 5, ["PROJECT"], seed=3)
    for example in swapped:
        spans = [(span.label, span.text) for span in bio_to_spans(example["text"], example["tags"])]
        assert {text for label, text in spans if label == "PROJECT"} <= names
        assert ("VALUE", "5") in spans or ("INDICATOR", "地区生产总值") in spans  # other labels untouched
        assert example["text"].startswith(("推进", "年内"))
    assert {example["text"] for example in swapped} - {examples[0]["text"], examples[1]["text"]}  # not copies
    assert train_ner.swap_examples(examples, 0, ["PROJECT"], seed=3) == []


def test_loss_weighs_upweighted_labels_and_silver_examples() -> None:
    from types import SimpleNamespace

    import torch

    logits = torch.log(torch.tensor([[[0.6, 0.4], [0.2, 0.8], [0.5, 0.5]]]))  # one window, 3 tokens, 2 tags

    class Fixed(torch.nn.Module):
        def forward(self, **_: torch.Tensor) -> SimpleNamespace:
            return SimpleNamespace(logits=logits)

    def loss(weights: list[float] | None, example_weight: float) -> float:
        trainer = SimpleNamespace(label_weights=None if weights is None else torch.tensor(weights))
        inputs = {"labels": torch.tensor([[0, 1, -100]]), "weight": torch.tensor([example_weight])}
        return float(train_ner.WeightedTrainer.compute_loss(trainer, Fixed(), inputs))  # type: ignore[arg-type]

    nll = [-torch.log(torch.tensor(0.6)).item(), -torch.log(torch.tensor(0.8)).item()]
    assert loss(None, 1.0) == pytest.approx(sum(nll) / 2)
    assert loss([1.0, 3.0], 1.0) == pytest.approx((nll[0] + 3 * nll[1]) / 4)  # a weighted mean
    assert loss([1.0, 3.0], 0.5) == pytest.approx((nll[0] + 3 * nll[1]) / 4)  # one example: its weight cancels


def test_unknown_labels_in_options_are_refused_before_any_work(tmp_path: Path) -> None:
    for option in ("--upweight_labels", "--swap_labels", "--keep_rule_labels"):
        with pytest.raises(ValueError, match=f"{option[2:]}: unknown labels"):
            train_ner.main([TINY, "--base_model", str(tmp_path / "none"), "--output_dir", str(tmp_path / "m"),
                            option, "PROJECTS"])
    assert not (tmp_path / "m").exists()


def test_silver_examples_come_only_from_reports_outside_the_gold_corpus() -> None:
    args = train_ner.DataArguments(silver=True, silver_weight=0.5, silver_max_sentences=50)
    gold_doc = "data/corpus/national_reports.jsonl#1"
    examples = train_ner.silver_examples(args, {gold_doc}, seed=3)
    assert len(examples) == 50 and all(e["weight"] == 0.5 for e in examples)
    assert all(any(tag != "O" for tag in e["tags"]) and len(e["tags"]) == len(e["text"]) for e in examples)
    [first] = [d for d in read_file(ROOT / "data/corpus/national_reports.jsonl",
                                    display="data/corpus/national_reports.jsonl") if d.path == gold_doc]
    gold_sentences = {s.norm for s in first.sentences}
    assert not any(e["text"] in gold_sentences for e in examples)


RULED = "全年地区生产总值增长6.5%左右，推动华虹二期等项目尽快投产。"


def test_rule_features_give_each_token_the_rule_tag_of_its_first_character(base_model: Path) -> None:
    from transformers import AutoTokenizer

    from govtargets.data import TAG2ID, spans_to_bio
    from govtargets.rules import RuleBackend

    tokenizer = AutoTokenizer.from_pretrained(str(base_model))
    args = train_ner.DataArguments(rule_features=True, max_seq_length=16, stride=4)
    example = {"text": RULED, "tags": ["O"] * len(RULED), "weight": 1.0}
    dataset = train_ner.tokenize_and_align([example], tokenizer, args)
    assert len(dataset) > 1  # windowed: the types follow each window's own offsets
    [spans] = RuleBackend().tag([RULED])
    rule_tags = spans_to_bio(RULED, spans, "rules")
    encoded = tokenizer(RULED, truncation=True, max_length=16, stride=4, return_overflowing_tokens=True,
                        return_offsets_mapping=True)
    seen = set()
    for window, row in enumerate(dataset):
        assert len(row["token_type_ids"]) == len(row["input_ids"])
        for token, (start, end) in enumerate(encoded["offset_mapping"][window]):
            special = encoded.token_to_chars(window, token) is None
            want = 0 if special or start == end else TAG2ID[rule_tags[start]]
            assert row["token_type_ids"][token] == want
            seen.add(want)
    assert {TAG2ID["B-INDICATOR"], TAG2ID["B-VALUE"], TAG2ID["B-PROJECT"], TAG2ID["I-PROJECT"]} <= seen
    assert "token_type_ids" not in train_ner.tokenize_and_align([example], tokenizer, train_ner.DataArguments())[0]


def test_a_model_with_rule_features_saves_the_flag_and_reads_the_rule_tags(base_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "ruled"
    metrics = train_ner.main([TINY, "--base_model", str(base_model), "--output_dir", str(out),
                              "--num_train_epochs", "8", "--rule_features", "true", "--keep_rule_labels", "PROJECT"])
    assert metrics["train"]["loss_last"] < metrics["train"]["loss_first"]
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["rule_features"] is True and config["type_vocab_size"] == 9
    assert config["keep_rule_labels"] == ["PROJECT"]
    assert "rule backend's tags" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    tagger = ModelBackend(out)
    assert tagger.rules is not None and ModelBackend(out).tag([RULED]) == tagger.tag([RULED])
    # The rule tags reach the model: the same tokens with other token types get other probabilities.
    ids = tagger.tokenizer(RULED, add_special_tokens=False)["input_ids"]
    with_rules = tagger._predict([rule_window(ids, [1] * len(ids))])[0]
    without = tagger._predict([rule_window(ids, [0] * len(ids))])[0]
    assert not np.allclose(with_rules, without)
    for span in tagger.tag([RULED])[0]:
        assert RULED[span.start : span.end] == span.text
    # The rule backend's project span is kept whatever the model tagged there.
    assert ("PROJECT", "华虹二期") in {(s.label, s.text) for s in tagger.tag([RULED])[0]}
    assert tagger.tag([]) == [] and tagger.tag([""]) == [[]]
    # A further fine-tuning run from that model keeps its rule tag embeddings.
    again = train_ner.main([TINY, "--base_model", str(out), "--output_dir", str(tmp_path / "again"),
                            "--num_train_epochs", "1", "--rule_features", "true"])
    assert again["train"]["steps"] > 0
    with pytest.raises(ValueError, match="reads rule features"):
        train_ner.main([TINY, "--base_model", str(out), "--output_dir", str(tmp_path / "plain")])


def rule_window(ids: list[int], types: list[int]) -> object:
    from govtargets.tagging import _Window

    return _Window(0, 0, ids, types)


def test_rule_features_need_a_token_type_embedding() -> None:
    from transformers import DistilBertConfig, DistilBertForTokenClassification

    model = DistilBertForTokenClassification(DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2,
                                                              hidden_dim=32, num_labels=9))
    with pytest.raises(ValueError, match="no token type embedding"):
        train_ner.add_rule_features(model)
