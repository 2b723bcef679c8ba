"""The pretraining recipe end to end on the tiny config, and the one-token-per-character tokenizer."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoTokenizer,
    PreTrainedTokenizerBase,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
TRAINING_DIR = REPO_ROOT / "training"
sys.path.insert(0, str(TRAINING_DIR))

import pretrain_mlm  # noqa: E402
import vocab  # noqa: E402

TINY_CONFIG = TRAINING_DIR / "configs" / "pretrain_tiny.yaml"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    output_dir = tmp_path_factory.mktemp("pretrain-tiny")
    metrics = pretrain_mlm.main([str(TINY_CONFIG), "--output_dir", str(output_dir)])
    return output_dir, metrics


@pytest.fixture(scope="module")
def tokenizer(tiny_run: tuple[Path, dict[str, Any]]) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(str(tiny_run[0]))


def test_tiny_run_loss_falls(tiny_run: tuple[Path, dict[str, Any]]) -> None:
    _, metrics = tiny_run
    assert metrics["global_step"] == 40
    # A fresh model predicts uniformly: loss ~ ln(vocab size) ~ 8.4.
    assert metrics["train_loss_start"] > 7.5
    assert metrics["train_loss_end"] < metrics["train_loss_start"] - 1.0
    assert metrics["eval_loss"] < math.log(metrics["vocab_size"]) - 1.0
    assert metrics["eval_perplexity"] == pytest.approx(math.exp(metrics["eval_loss"]), rel=1e-2)
    assert metrics["tokens_per_second"] > 0
    assert 0 < metrics["num_eval_sequences"] < metrics["num_train_sequences"] <= 320


def test_metrics_file_and_checkpoint_files(tiny_run: tuple[Path, dict[str, Any]]) -> None:
    output_dir, metrics = tiny_run
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        assert (output_dir / name).is_file(), name
    saved = json.loads((output_dir / "pretrain_metrics.json").read_text(encoding="utf-8"))
    assert saved["eval_loss"] == metrics["eval_loss"]
    assert saved["config"]["model"]["num_hidden_layers"] == 2
    assert saved["config"]["training"]["report_to"] == []
    vocab_lines = (output_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert vocab_lines[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocab_lines) == metrics["vocab_size"]


def test_checkpoint_loads_with_auto_classes(tiny_run: tuple[Path, dict[str, Any]],
                                            tokenizer: PreTrainedTokenizerBase) -> None:
    output_dir, metrics = tiny_run
    model = AutoModelForMaskedLM.from_pretrained(str(output_dir)).eval()
    encoder = AutoModel.from_pretrained(str(output_dir)).eval()
    assert model.config.vocab_size == len(tokenizer) == metrics["vocab_size"]
    sentences = ["国内生产总值增长5%左右。", "粮食产量1.3万亿斤以上"]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.inference_mode():
        logits = model(**batch).logits
        hidden = encoder(**batch).last_hidden_state
    assert logits.shape == (*batch["input_ids"].shape, metrics["vocab_size"])
    assert hidden.shape == (*batch["input_ids"].shape, 64)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("architecture", ["bert", "roberta-prelayernorm", "convbert"])
def test_every_architecture_builds_a_masked_lm_of_the_asked_size(architecture: str) -> None:
    args = pretrain_mlm.ModelArguments(architecture=architecture, num_hidden_layers=2, hidden_size=64,
                                       num_attention_heads=2, intermediate_size=128, max_position_embeddings=32)
    model = pretrain_mlm.new_model(args, vocab_size=100, pad_token_id=0).eval()
    ids = torch.randint(5, 100, (2, 32))  # the longest sequence the size allows
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    assert logits.shape == (2, 32, 100)
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64


def test_unknown_architecture_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        pretrain_mlm.new_model(pretrain_mlm.ModelArguments(architecture="gpt"), vocab_size=100, pad_token_id=0)


def tokens_and_offsets(tokenizer: PreTrainedTokenizerBase, text: str) -> list[tuple[str, tuple[int, int]]]:
    encoding = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    return [(token, tuple(span)) for token, span in zip(tokens, encoding["offset_mapping"], strict=True)]


@pytest.mark.parametrize("text", [
    "2023年地区生产总值增长6.5%",
    "ＧＤＰ增长５％，ＰＭ２．５浓度下降１０％。",  # full-width digits, letters, punctuation
    "完成投资😀 120亿元👍",  # emoji, and a space between characters
    "鄂城區經濟社會發展主要預期目標",  # traditional characters
    "PM2.5 GDP\tCPI\n5G基站  1,234.56万吨\u3000（预计）",  # Latin runs, tabs, newlines, U+3000
])
def test_tokenizer_is_one_token_per_character(tokenizer: PreTrainedTokenizerBase, text: str) -> None:
    pairs = tokens_and_offsets(tokenizer, text)
    expected_starts = [i for i, char in enumerate(text) if not char.isspace()]
    assert [start for _, (start, _) in pairs] == expected_starts
    for token, (start, end) in pairs:
        assert end == start + 1
        assert token in (text[start], vocab.UNK)


def test_digits_letters_and_fullwidth_are_single_known_tokens(tokenizer: PreTrainedTokenizerBase) -> None:
    assert [token for token, _ in tokens_and_offsets(tokenizer, "2023年")] == ["2", "0", "2", "3", "年"]
    assert [token for token, _ in tokens_and_offsets(tokenizer, "GDP")] == ["G", "D", "P"]
    # Case is kept: a and A are different tokens.
    assert tokenizer.convert_tokens_to_ids("a") != tokenizer.convert_tokens_to_ids("A")
    for text in ("０１２３４５６７８９％", "ａｂｃＸＹＺ", "，。；：、！？“”‘’（）《》【】—…·％‰"):
        assert vocab.UNK not in [token for token, _ in tokens_and_offsets(tokenizer, text)], text


def test_emoji_is_one_unknown_token(tokenizer: PreTrainedTokenizerBase) -> None:
    assert tokens_and_offsets(tokenizer, "好😀好") == [("好", (0, 1)), (vocab.UNK, (1, 2)), ("好", (2, 3))]


def test_special_tokens_wrap_sequences(tokenizer: PreTrainedTokenizerBase) -> None:
    encoding = tokenizer("增长5%")
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    assert tokens == ["[CLS]", "增", "长", "5", "%", "[SEP]"]
    assert tokenizer.mask_token == "[MASK]" and tokenizer.pad_token_id == 0


def test_vocab_holds_the_common_characters_even_when_the_corpus_lacks_them() -> None:
    built = set(vocab.build_vocab(["政府工作报告"], min_freq=1))
    level1 = vocab.gb2312_characters(vocab.GB2312_LEVEL1_ROWS)
    assert len(level1) == 3755
    assert set(level1) <= built
    assert set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") <= built
    assert {chr(cp) for cp in range(0xFF01, 0xFF5F)} <= built
    assert set("，。；：、！？“”‘’（）《》【】—…·％‰①⑴Ⅰ℃") <= built
    assert not {" ", "\u3000", "\n", "\u200b"} & built


def test_min_freq_is_a_floor_for_corpus_characters() -> None:
    rare = "龘"  # not a GB2312 level-1 character
    assert rare not in vocab.build_vocab([f"{rare}一"], min_freq=2)
    assert rare in vocab.build_vocab([f"{rare}{rare}一"], min_freq=2)


def test_normalise_keeps_length_and_matches_the_tagger_input() -> None:
    text = "鄂城區經濟增長１２．５％，ＧＤＰ\u3000目標"
    normalised = vocab.normalise(text)
    assert len(normalised) == len(text)
    assert normalised == "鄂城区经济增长12．5%，GDP 目标"


def test_pack_sequences_respects_the_length_and_keeps_the_text() -> None:
    text = "第一句话。第二句话；\n" + "很长" * 40 + "。\n\n最后一句？"
    sequences = pretrain_mlm.pack_sequences(text, max_chars=30)
    assert all(0 < len(seq) <= 30 for seq in sequences)
    assert "".join(sequences) == text.replace("\n", "")
    assert sequences[0] == "第一句话。第二句话；"


def test_yaml_config_with_command_line_overrides() -> None:
    model_args, data_args, training_args = pretrain_mlm.parse_arguments(
        [str(TINY_CONFIG), "--output_dir", "/tmp/never-written", "--learning_rate", "1e-4", "--threads", "1"])
    assert model_args.hidden_size == 64 and data_args.max_seq_length == 64
    assert training_args.learning_rate == 1e-4 and training_args.threads == 1
    assert training_args.per_device_train_batch_size == 16
    assert training_args.report_to == [] and training_args.push_to_hub is False


def test_unknown_yaml_keys_are_rejected(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("hidden_sise: 64\noutput_dir: out\n", encoding="utf-8")
    with pytest.raises(ValueError, match="hidden_sise"):
        pretrain_mlm.parse_arguments([str(config)])


def test_wall_clock_callback_saves_evaluates_and_stops_on_time() -> None:
    args, state = TrainingArguments(output_dir="/tmp/never-written"), TrainerState()
    idle = pretrain_mlm.WallClockCallback(max_minutes=None, save_minutes=None)
    control = idle.on_step_end(args, state, TrainerControl())
    assert not (control.should_save or control.should_evaluate or control.should_training_stop)

    due = pretrain_mlm.WallClockCallback(max_minutes=0, save_minutes=0)
    due.on_train_begin(args, state, TrainerControl())
    control = due.on_step_end(args, state, TrainerControl())
    assert control.should_save and control.should_evaluate and control.should_training_stop
    assert due.stopped
