"""Pretrain a small character-level Chinese BERT-family encoder with masked language modelling, offline.

`bert-base-chinese` cannot be downloaded here, so the default tagger model starts from this one: a
masked LM trained from scratch on the public report corpus (data/corpus + data/seeds), with the
one-token-per-character vocabulary of training/vocab.py. `architecture` picks BERT (post-LN, as
bert-base-chinese), RoBERTa-PreLayerNorm or ConvBERT; the shipped configuration uses ConvBERT, the
one that learns from this little text on this little compute (see configs/pretrain_small.yaml).
The recipe follows transformers' run_mlm.py: dataclass arguments, data, model, Trainer.

    .venv/bin/python training/pretrain_mlm.py training/configs/pretrain_small.yaml
    .venv/bin/python training/pretrain_mlm.py training/configs/pretrain_tiny.yaml --output_dir /tmp/t \
        --max_steps 5

The YAML keys are the fields of ModelArguments, DataArguments and PretrainingArguments (which adds
`threads`, `max_train_minutes` and `save_every_minutes` to transformers' TrainingArguments);
`--key value` overrides them.
The output directory holds a standard checkpoint (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json, vocab.txt) that AutoModelForMaskedLM / AutoModel / AutoTokenizer load
offline, and pretrain_metrics.json.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import datasets
import torch
from datasets import Dataset
from transformers import (
    BertConfig,
    BertForMaskedLM,
    ConvBertConfig,
    ConvBertForMaskedLM,
    DataCollatorForLanguageModeling,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    RobertaPreLayerNormConfig,
    RobertaPreLayerNormForMaskedLM,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
    set_seed,
)

# training/ is a folder of scripts, not a package.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from config import parse_config
from vocab import (
    DEFAULT_DATA_DIR,
    build_tokenizer,
    build_vocab,
    normalise,
    read_texts,
    save_tokenizer,
)


@dataclass
class ModelArguments:
    """The architecture and size of the encoder trained from scratch."""

    architecture: str = field(default="bert", metadata={
        "help": "bert (post-LN, as bert-base-chinese), roberta-prelayernorm (pre-LN) or convbert (half the "
                "heads are span-based dynamic convolutions: local context from the first step)"})
    num_hidden_layers: int = 4
    hidden_size: int = 256
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    max_position_embeddings: int = 512
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1


@dataclass
class DataArguments:
    """Which text, how it is cut into sequences, and how it is masked."""

    data_dir: str = str(DEFAULT_DATA_DIR)
    min_freq: int = field(default=2, metadata={"help": "rarer corpus characters are left out"})
    max_seq_length: int = field(default=256, metadata={"help": "tokens incl. [CLS] and [SEP]"})
    max_documents: int | None = field(default=None, metadata={"help": "use only the first N texts (tests)"})
    max_sequences: int | None = field(default=None, metadata={"help": "first N sequences only (tests)"})
    eval_fraction: float = field(default=0.02, metadata={"help": "share of sequences held out for eval"})
    mlm_probability: float = 0.15


@dataclass
class PretrainingArguments(TrainingArguments):
    """transformers' TrainingArguments plus the knobs a shared CPU machine needs."""

    threads: int = field(default=2, metadata={"help": "torch.set_num_threads"})
    # tokens/s is a reported metric; redeclared as plain str because HfArgumentParser reads the
    # parent's `str | bool` as a bool flag.
    include_num_input_tokens_seen: str = "non_padding"
    max_train_minutes: float | None = field(
        default=None, metadata={"help": "stop training (then save and evaluate) after this many minutes"})
    save_every_minutes: float | None = field(
        default=None, metadata={"help": "also checkpoint and evaluate every this many minutes"})


class WallClockCallback(TrainerCallback):
    """Checkpoints (and evaluates) every `save_minutes` and ends training after `max_minutes`.

    On a shared machine the step rate moves several-fold with other people's load, so step-based
    checkpoints and a step-sized run would not land on schedule. A run stopped early still saves
    and evaluates; only its learning-rate decay is cut short (resume from the last checkpoint to
    finish it).
    """

    def __init__(self, max_minutes: float | None, save_minutes: float | None) -> None:
        self.max_seconds = None if max_minutes is None else max_minutes * 60
        self.save_seconds = None if save_minutes is None else save_minutes * 60
        self.start = self.last_save = time.monotonic()
        self.stopped = False

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       **kwargs: Any) -> TrainerControl:
        self.start = self.last_save = time.monotonic()
        return control

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    **kwargs: Any) -> TrainerControl:
        now = time.monotonic()
        if self.save_seconds is not None and now - self.last_save >= self.save_seconds:
            control.should_save = True
            control.should_evaluate = True
            self.last_save = now
        if self.max_seconds is not None and now - self.start >= self.max_seconds:
            self.stopped = True
            control.should_training_stop = True
        return control


def parse_arguments(argv: list[str]) -> tuple[ModelArguments, DataArguments, PretrainingArguments]:
    """`[config.yaml] [--key value ...]`: the YAML gives the defaults, the flags override them."""
    model_args, data_args, training_args = parse_config((ModelArguments, DataArguments, PretrainingArguments), argv)
    if training_args.output_dir is None:
        raise ValueError("output_dir is required (in the YAML or as --output_dir)")
    return model_args, data_args, training_args


# A sentence ends after 。！？； (or their ASCII forms); a newline ends a paragraph.
SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def split_sentences(text: str) -> list[str]:
    sentences = []
    for paragraph in text.splitlines():
        sentences.extend(s.strip() for s in SENTENCE_END.split(paragraph) if s.strip())
    return sentences


def pack_sequences(text: str, max_chars: int) -> list[str]:
    """Consecutive sentences of one text joined into sequences of at most `max_chars` characters.

    Packing whole sentences keeps sequences close to full length (little padding) while the model
    still sees sentence starts and ends, as the tagger's sentence-level inputs have them.
    """
    sequences: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        # A sentence longer than a sequence is cut into full-length pieces.
        pieces = [sentence[i:i + max_chars] for i in range(0, len(sentence), max_chars)]
        for piece in pieces:
            if current and len(current) + len(piece) > max_chars:
                sequences.append(current)
                current = ""
            current += piece
    if current:
        sequences.append(current)
    return sequences


def make_datasets(texts: list[str], tokenizer: PreTrainedTokenizerFast, data_args: DataArguments,
                  seed: int) -> tuple[Dataset, Dataset]:
    """Normalised texts -> packed sequences -> token ids, split into train and held-out eval."""
    # One token per non-whitespace character, so characters bound the token count from above.
    max_chars = data_args.max_seq_length - 2
    sequences = [seq for text in texts for seq in pack_sequences(text, max_chars)]
    if data_args.max_sequences is not None:
        sequences = sequences[:data_args.max_sequences]

    def tokenize(batch: dict[str, list[str]]) -> dict[str, list[list[int]]]:
        return tokenizer(batch["text"], truncation=True, max_length=data_args.max_seq_length,
                         return_special_tokens_mask=True)

    dataset = Dataset.from_dict({"text": sequences}).map(tokenize, batched=True, remove_columns=["text"])
    split = dataset.train_test_split(test_size=data_args.eval_fraction, seed=seed)
    return split["train"], split["test"]


def new_model(model_args: ModelArguments, vocab_size: int, pad_token_id: int) -> PreTrainedModel:
    sizes: dict[str, Any] = {
        "vocab_size": vocab_size,
        "hidden_size": model_args.hidden_size,
        "num_hidden_layers": model_args.num_hidden_layers,
        "num_attention_heads": model_args.num_attention_heads,
        "intermediate_size": model_args.intermediate_size,
        "hidden_dropout_prob": model_args.hidden_dropout_prob,
        "attention_probs_dropout_prob": model_args.attention_probs_dropout_prob,
        "pad_token_id": pad_token_id,
    }
    config: PretrainedConfig
    if model_args.architecture == "bert":
        config = BertConfig(max_position_embeddings=model_args.max_position_embeddings, **sizes)
        return BertForMaskedLM(config)
    if model_args.architecture == "roberta-prelayernorm":
        # RoBERTa numbers positions from pad_token_id + 1, hence the extra position slots.
        config = RobertaPreLayerNormConfig(
            max_position_embeddings=model_args.max_position_embeddings + pad_token_id + 1, **sizes)
        return RobertaPreLayerNormForMaskedLM(config)
    if model_args.architecture == "convbert":
        config = ConvBertConfig(max_position_embeddings=model_args.max_position_embeddings,
                                embedding_size=model_args.hidden_size, **sizes)
        return ConvBertForMaskedLM(config)
    raise ValueError(f"unknown architecture {model_args.architecture!r} (bert, roberta-prelayernorm or convbert)")


def loss_curve(log_history: list[dict[str, Any]], key: str) -> list[list[float]]:
    return [[entry["step"], round(entry[key], 4)] for entry in log_history if key in entry]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    wall_start = time.perf_counter()
    model_args, data_args, training_args = parse_arguments(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(training_args.threads)
    datasets.disable_progress_bars()  # keeps the log of a background run readable
    set_seed(training_args.seed)
    output_dir = Path(training_args.output_dir)

    # Data and vocabulary. Pretraining text is normalised like the tagger's input (half-width digits
    # and letters, simplified characters), so the embeddings the tagger uses are the trained ones.
    texts = [normalise(text) for text in read_texts(Path(data_args.data_dir))]
    vocab = build_vocab(texts, data_args.min_freq)
    tokenizer = build_tokenizer(vocab, model_max_length=model_args.max_position_embeddings)
    if data_args.max_documents is not None:
        texts = texts[:data_args.max_documents]
    train_dataset, eval_dataset = make_datasets(texts, tokenizer, data_args, training_args.seed)

    # Model: an encoder from scratch, of the configured architecture and size.
    model = new_model(model_args, len(tokenizer), tokenizer.pad_token_id)

    # Training: dynamic 15% masking (80% [MASK], 10% random, 10% kept), fresh for every batch.
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=data_args.mlm_probability,
                                               pad_to_multiple_of=8)
    wall_clock = WallClockCallback(training_args.max_train_minutes, training_args.save_every_minutes)
    trainer = Trainer(model=model, args=training_args, data_collator=collator, train_dataset=train_dataset,
                      eval_dataset=eval_dataset, processing_class=tokenizer, callbacks=[wall_clock])
    print(f"vocab {len(vocab)}, {len(train_dataset)} train / {len(eval_dataset)} eval sequences, "
          f"{model.num_parameters():,} parameters, {trainer.get_num_trainable_parameters():,} trainable",
          flush=True)
    train_result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(str(output_dir))
    save_tokenizer(tokenizer, output_dir)  # adds vocab.txt next to tokenizer.json
    eval_metrics = trainer.evaluate()

    train_runtime = train_result.metrics["train_runtime"]
    train_curve = loss_curve(trainer.state.log_history, "loss")
    metrics: dict[str, Any] = {
        "train_loss_start": train_curve[0][1] if train_curve else None,
        "train_loss_end": train_curve[-1][1] if train_curve else None,
        "train_loss_mean": round(train_result.training_loss, 4),
        "train_loss_curve": train_curve,
        "eval_loss_curve": loss_curve(trainer.state.log_history, "eval_loss"),
        "eval_loss": round(eval_metrics["eval_loss"], 4),
        "eval_perplexity": round(math.exp(eval_metrics["eval_loss"]), 2),
        "global_step": trainer.state.global_step,
        "epochs": round(trainer.state.epoch or 0.0, 3),
        "stopped_by_time_budget": wall_clock.stopped,
        "train_tokens": trainer.state.num_input_tokens_seen,
        # Includes the periodic evaluations and checkpoint saves, so a slight underestimate.
        "tokens_per_second": round(trainer.state.num_input_tokens_seen / train_runtime, 1),
        "train_runtime_s": round(train_runtime, 1),
        "wall_time_s": round(time.perf_counter() - wall_start, 1),
        "num_train_sequences": len(train_dataset),
        "num_eval_sequences": len(eval_dataset),
        "vocab_size": len(vocab),
        "parameters": model.num_parameters(),
        "torch_threads": torch.get_num_threads(),
        "config": {"model": asdict(model_args), "data": asdict(data_args),
                   "training": json.loads(training_args.to_json_string())},
    }
    (output_dir / "pretrain_metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in metrics.items() if not k.endswith(("curve", "config"))}), flush=True)
    return metrics


if __name__ == "__main__":
    main()
