"""Fine-tune a token classifier (BIO over INDICATOR / VALUE / UNIT / PROJECT) on annotations/.

A recipe in the spirit of transformers' run_ner.py: dataclass arguments, data, model, Trainer,
metrics. The base model is anything `from_pretrained` loads: our own pretrained checkpoint by
default (training/pretrain_mlm.py), or `bert-base-chinese` / `hfl/chinese-roberta-wwm-ext` online.

    .venv/bin/python training/train_ner.py training/configs/ner_small.yaml
    .venv/bin/python training/train_ner.py training/configs/ner_small.yaml --base_model bert-base-chinese

Data: the gold corpus (Label Studio JSON under annotations/gold/, split by document in
annotations/splits.yaml; the test split is never used for training or model selection), optionally
plus silver examples: the rule backend's spans on corpus reports that are not in the gold corpus,
with a loss weight below 1. Text is normalised exactly as the tagger's input (documents.normalize).
Gold paragraphs are cut into the documents' own sentences, the units the pipeline tags; long
sentences become overlapping windows. Dev entity F1 (seqeval) picks the best checkpoint.

With `rule_features`, the model also reads the rule backend's tags of the same text, one per token
as its token type id (the type embedding widened to the nine BIO tags): the rules' project names
are precise but rare, and the model learns how far to trust each rule tag and what the rules miss.

The output folder is a standard Hugging Face model folder plus MODEL_CARD.md and metrics.json
(dev and test entity P/R/F1 per label and target-level P/R/F1, for the model and the rule backend).
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
import transformers
import yaml
from datasets import Dataset
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2
from torch.nn import functional
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    EvalPrediction,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
    set_seed,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from config import parse_config

from govtargets import evaluation
from govtargets.data import BIO_TAGS, bio_to_spans, read_annotations, spans_to_bio
from govtargets.documents import read_file
from govtargets.records import LABELS
from govtargets.rules import RuleBackend
from govtargets.tagging import KEEP_RULE_LABELS, RULE_FEATURES, ModelBackend, rule_token_types

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ModelArguments:
    base_model: str = field(
        default="runs/pretrain-small",
        metadata={"help": "a local folder or a hub name (bert-base-chinese, hfl/chinese-roberta-wwm-ext)"})


@dataclass
class DataArguments:
    annotations_dir: str = "annotations/gold"
    splits: str = "annotations/splits.yaml"
    max_seq_length: int = field(default=256, metadata={"help": "tokens per window incl. [CLS] and [SEP]"})
    stride: int = field(default=64, metadata={"help": "tokens shared by consecutive windows"})
    silver: bool = field(default=False, metadata={"help": "add rule-backend examples from unannotated reports"})
    silver_weight: float = field(default=0.3, metadata={"help": "loss weight of a silver example (gold: 1)"})
    silver_source: str = "data/corpus/national_reports.jsonl"
    silver_max_sentences: int | None = None
    crops: int = field(
        default=0, metadata={"help": "random entity-safe substrings added per gold sentence that has spans"})
    swaps: int = field(
        default=0, metadata={"help": "copies per gold sentence with a span of a swap label, each such span "
                                      "replaced by a random train mention of the same label"})
    swap_labels: list[str] = field(default_factory=lambda: ["PROJECT"], metadata={"help": "labels swapped"})
    final_fit: bool = field(
        default=False, metadata={"help": "train on train + dev, without dev-based selection: the last run, once "
                                          "the recipe and epoch count were chosen on dev"})
    max_train_items: int | None = field(default=None, metadata={"help": "first N gold items only (tests)"})
    rule_features: bool = field(
        default=False, metadata={"help": "the model also reads the rule backend's tags (as token type ids)"})
    keep_rule_labels: list[str] = field(
        default_factory=list, metadata={"help": "labels whose rule-backend spans the tagger keeps over the "
                                                 "model's own (saved in config.json; a decoding choice)"})


@dataclass
class NerTrainingArguments(TrainingArguments):
    threads: int = field(default=2, metadata={"help": "torch.set_num_threads"})
    upweight_labels: list[str] = field(
        default_factory=list, metadata={"help": "labels whose B-/I- tokens weigh `upweight` in the loss"})
    upweight: float = field(default=1.0, metadata={"help": "loss weight of tokens of `upweight_labels` (others: 1)"})
    config_file: str | None = field(default=None, metadata={"help": "set from the YAML path, for the card"})


def parse_arguments(argv: list[str]) -> tuple[ModelArguments, DataArguments, NerTrainingArguments]:
    model_args, data_args, training_args = parse_config((ModelArguments, DataArguments, NerTrainingArguments), argv)
    if argv and argv[0].endswith((".yaml", ".yml")):
        training_args.config_file = argv[0]
    return model_args, data_args, training_args


# --- data ------------------------------------------------------------------------------------------


def resolve(path: str) -> Path:
    """Paths in configs are relative to the repository unless they exist from the working directory."""
    return Path(path) if Path(path).exists() else ROOT / path


def split_files(data_args: DataArguments) -> dict[str, list[Path]]:
    splits = yaml.safe_load(resolve(data_args.splits).read_text(encoding="utf-8"))
    folder = resolve(data_args.annotations_dir)
    files = {name: [folder / f"{stem}.json" for stem in splits.get(name) or []] for name in ("train", "dev", "test")}
    seen: dict[Path, str] = {}
    for name, paths in files.items():
        for path in paths:
            if path in seen:
                raise ValueError(f"{path.name} is in both {seen[path]} and {name}: splits must be by document")
            if not path.is_file():
                raise ValueError(f"{path}: listed in the {name} split but missing")
            seen[path] = name
    return files


def gold_examples(paths: list[Path]) -> list[dict[str, Any]]:
    """One example per sentence of the gold paragraphs, cut as the pipeline cuts documents: the model
    learns on the same units it tags (a paragraph window gives positions and context it never sees)."""
    items = [item for path in paths for item in read_annotations(path)]
    return [
        # The tagger sees normalised text; normalisation keeps every offset, so the gold tags still fit.
        {"text": sentence.norm, "tags": spans_to_bio(sentence.text, sentence.spans, sentence.doc), "weight": 1.0}
        for sentence in evaluation.gold_sentences(items)
    ]


def silver_examples(data_args: DataArguments, gold_docs: set[str], seed: int) -> list[dict[str, Any]]:
    """Rule-backend spans on sentences of reports that no annotation file covers. Only sentences where
    the rules find something: sentences without targets are plentiful in the gold data already."""
    backend = RuleBackend()
    sentences = []
    for doc in read_file(resolve(data_args.silver_source), display=data_args.silver_source):
        if doc.path not in gold_docs:
            sentences.extend(s.norm for s in doc.sentences)
    examples = []
    for text, spans in zip(sentences, backend.tag(sentences), strict=True):
        if spans:
            examples.append({"text": text, "tags": spans_to_bio(text, spans, "silver"),
                             "weight": data_args.silver_weight})
    random.Random(seed).shuffle(examples)
    return examples[: data_args.silver_max_sentences]


def crop_examples(examples: list[dict[str, Any]], crops: int, seed: int) -> list[dict[str, Any]]:
    """Random substrings of sentences that have spans, cut only where no span is cut.

    A small encoder trained from scratch memorises whole sentences: it tags 国内生产总值增长6.9% well
    in a sentence it has seen and splits 6.9 into 6. + 9 in a new one. Seeing the same spans in
    shorter, shifted contexts teaches it to decide from the neighbouring characters.
    """
    rng = random.Random(seed)
    out = []
    for example in examples:
        tags = example["tags"]
        if all(tag == "O" for tag in tags):
            continue
        # A cut at i is safe when character i does not continue a span (and the end is always safe).
        cuts = [i for i in range(len(tags) + 1) if i == len(tags) or not tags[i].startswith("I-")]
        for _ in range(crops):
            start = rng.choice(cuts[:-1])
            ends = [c for c in cuts if c > start]
            end = rng.choice(ends)
            piece_tags = tags[start:end]
            # Pieces shorter than a few characters carry no context to learn from.
            if end - start < min(6, len(tags)) or all(tag == "O" for tag in piece_tags):
                continue
            out.append({"text": example["text"][start:end], "tags": piece_tags, "weight": example["weight"]})
    return out


def swap_examples(examples: list[dict[str, Any]], swaps: int, labels: list[str], seed: int) -> list[dict[str, Any]]:
    """Copies of gold sentences with each span of `labels` replaced by another train mention of that
    label (mention replacement, Dai & Adel 2020).

    The train split has about a hundred project names, most seen once: the tagger learns the names,
    not the contexts that mark them (开工建设…、…等项目). Putting other names into the same contexts,
    and the same names into other contexts, makes the context and the name's shape the evidence.
    """
    rng = random.Random(seed)
    pool: dict[str, list[str]] = {label: [] for label in labels}
    spans = [[s for s in bio_to_spans(e["text"], e["tags"]) if s.label in pool] for e in examples]
    for example_spans in spans:
        for span in example_spans:
            pool[span.label].append(span.text)
    out = []
    for example, example_spans in zip(examples, spans, strict=True):
        if not example_spans:
            continue
        for _ in range(swaps):
            text, tags, last = "", [], 0
            for span in example_spans:
                mention = rng.choice(pool[span.label])
                text += example["text"][last : span.start] + mention
                tags += example["tags"][last : span.start]
                tags += [f"B-{span.label}"] + [f"I-{span.label}"] * (len(mention) - 1)
                last = span.end
            text += example["text"][last:]
            tags += example["tags"][last:]
            out.append({"text": text, "tags": tags, "weight": example["weight"]})
    return out


def tokenize_and_align(examples: list[dict[str, Any]], tokenizer: PreTrainedTokenizerBase,
                       data_args: DataArguments) -> Dataset:
    """Character BIO tags → one label per token (the tag of its first character), in windows. With
    rule features, the rule backend's tags of the same text as token type ids, as the tagger computes them."""
    label2id = {tag: i for i, tag in enumerate(BIO_TAGS)}
    texts = [e["text"] for e in examples]
    encoded = tokenizer(
        texts, truncation=True, max_length=data_args.max_seq_length,
        stride=data_args.stride, return_overflowing_tokens=True, return_offsets_mapping=True,
    )
    rows: dict[str, list[Any]] = {"input_ids": [], "attention_mask": [], "labels": [], "weight": [], "length": []}
    rule_spans = None
    if data_args.rule_features:
        rule_spans = RuleBackend().tag(texts)
        rows["token_type_ids"] = []
    for window, sample in enumerate(encoded["overflow_to_sample_mapping"]):
        tags = examples[sample]["tags"]
        # Special tokens count as empty: no label, rule type 0.
        offsets = [(0, 0) if encoded.token_to_chars(window, token) is None else (start, end)
                   for token, (start, end) in enumerate(encoded["offset_mapping"][window])]
        labels = [-100 if start == end else label2id[tags[start]] for start, end in offsets]
        if rule_spans is not None:
            rows["token_type_ids"].append(rule_token_types(texts[sample], rule_spans[sample], offsets))
        rows["input_ids"].append(encoded["input_ids"][window])
        rows["attention_mask"].append(encoded["attention_mask"][window])
        rows["labels"].append(labels)
        rows["weight"].append(examples[sample]["weight"])
        rows["length"].append(len(labels))  # for train_sampling_strategy: group_by_length
    return Dataset.from_dict(rows)


def collate(features: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    longest = max(len(f["input_ids"]) for f in features)
    batch = {
        "input_ids": torch.full((len(features), longest), pad_id, dtype=torch.long),
        "attention_mask": torch.zeros((len(features), longest), dtype=torch.long),
        "labels": torch.full((len(features), longest), -100, dtype=torch.long),
        "weight": torch.tensor([float(f["weight"]) for f in features]),
    }
    for row, feature in enumerate(features):
        n = len(feature["input_ids"])
        batch["input_ids"][row, :n] = torch.tensor(feature["input_ids"])
        batch["attention_mask"][row, :n] = torch.tensor(feature["attention_mask"])
        batch["labels"][row, :n] = torch.tensor(feature["labels"])
    if "token_type_ids" in features[0]:
        batch["token_type_ids"] = torch.zeros((len(features), longest), dtype=torch.long)
        for row, feature in enumerate(features):
            batch["token_type_ids"][row, : len(feature["token_type_ids"])] = torch.tensor(feature["token_type_ids"])
    return batch


def add_rule_features(model: transformers.PreTrainedModel) -> None:
    """Widen the token type embedding to one row per BIO tag, so that token type ids can carry the rule
    backend's tags. Every row starts as the old type-0 row: the untrained model ignores the rules and
    fine-tuning learns what each rule tag is worth."""
    embeddings = getattr(getattr(model.base_model, "embeddings", None), "token_type_embeddings", None)
    if not isinstance(embeddings, torch.nn.Embedding):
        raise ValueError(f"{type(model.base_model).__name__} has no token type embedding to carry rule features")
    if getattr(model.config, RULE_FEATURES, False) and embeddings.num_embeddings == len(BIO_TAGS):
        return  # the base model already reads rule features
    wider = torch.nn.Embedding(len(BIO_TAGS), embeddings.embedding_dim)
    with torch.no_grad():
        wider.weight.copy_(embeddings.weight[0].expand(len(BIO_TAGS), -1))
    model.base_model.embeddings.token_type_embeddings = wider
    model.config.type_vocab_size = len(BIO_TAGS)
    setattr(model.config, RULE_FEATURES, True)


# --- model and training ----------------------------------------------------------------------------


class WeightedTrainer(Trainer):
    """Token cross-entropy where each window's tokens count with its example's weight (silver < 1),
    times the weight of the token's gold tag (`label_weights`, one per tag id; default all 1)."""

    def __init__(self, *args: Any, label_weights: torch.Tensor | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_weights = label_weights

    def compute_loss(self, model: torch.nn.Module, inputs: dict[str, torch.Tensor], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        weight = inputs.pop("weight")
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        losses = functional.cross_entropy(outputs.logits.transpose(1, 2), labels, ignore_index=-100, reduction="none")
        token_weight = (labels != -100).float() * weight[:, None]
        if self.label_weights is not None:
            token_weight = token_weight * self.label_weights.to(token_weight.device)[labels.clamp(min=0)]
        loss = (losses * token_weight).sum() / token_weight.sum().clamp(min=1e-8)
        return (loss, outputs) if return_outputs else loss


def window_metrics(prediction: EvalPrediction) -> dict[str, float]:
    """seqeval entity scores over the dev windows: cheap enough to pick the best epoch."""
    predicted = np.argmax(prediction.predictions, axis=-1)
    y_true, y_pred = [], []
    for labels, guesses in zip(prediction.label_ids, predicted, strict=True):
        keep = labels != -100
        y_true.append([BIO_TAGS[i] for i in labels[keep]])
        y_pred.append([BIO_TAGS[i] for i in guesses[keep]])
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    scores = {"f1": report["micro avg"]["f1-score"], "precision": report["micro avg"]["precision"],
              "recall": report["micro avg"]["recall"]}
    for label in ("INDICATOR", "VALUE", "UNIT", "PROJECT"):
        if label in report:
            scores[f"f1_{label}"] = report[label]["f1-score"]
    return scores


# --- evaluation and the model card -----------------------------------------------------------------


def evaluate_split(paths: list[Path], model_dir: Path, threads: int) -> dict[str, Any]:
    if not paths:
        return {}
    sentences = evaluation.load_gold([str(p) for p in paths])
    return {
        "documents": [p.stem for p in paths],
        "model": evaluation.evaluate(sentences, ModelBackend(model_dir, threads=threads)),
        "rules": evaluation.evaluate(sentences, RuleBackend()),
    }


def shipping_bar(test: dict[str, Any]) -> dict[str, Any]:
    """The model against the rules on the test split where a shipped model must beat them: INDICATOR
    and PROJECT entity F1 and every target level."""
    if not test:
        return {}
    checks = [("entities", "INDICATOR"), ("entities", "PROJECT")]
    checks += [("targets", level) for level in evaluation.TARGET_LEVELS]
    rows = {f"{group} {key}": {"model": round(test["model"][group][key]["f1"], 4),
                               "rules": round(test["rules"][group][key]["f1"], 4)} for group, key in checks}
    for row in rows.values():
        row["beats_rules"] = row["model"] > row["rules"]
    return {"checks": rows, "passed": all(row["beats_rules"] for row in rows.values())}


def model_card(metrics: dict[str, Any]) -> str:
    def table(split: str) -> str:
        result = metrics["evaluation"].get(split)
        if not result:
            return f"(no {split} split)\n"
        lines = ["| | model P | model R | model F1 | rules P | rules R | rules F1 |", "|---|---|---|---|---|---|---|"]
        for group, keys in (("entities", ("INDICATOR", "VALUE", "UNIT", "PROJECT", "all")),
                            ("targets", tuple(evaluation.TARGET_LEVELS))):
            for key in keys:
                m, r = result["model"][group][key], result["rules"][group][key]
                lines.append(f"| {group} {key} | {m['precision']:.3f} | {m['recall']:.3f} | **{m['f1']:.3f}** | "
                             f"{r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} |")
        return "\n".join(lines) + "\n"

    bar = metrics.get("shipping_bar") or {}
    bar_lines = [f"- {name}: model {row['model']:.3f} vs rules {row['rules']:.3f} — "
                 f"{'beats the rules' if row['beats_rules'] else 'does NOT beat the rules'}"
                 for name, row in bar.get("checks", {}).items()]
    verdict = "(no test split)"
    if bar:
        verdict = ("Passed: the model beats the rules on every check." if bar["passed"] else
                   "Not passed: this model must not replace the rules as the default backend.")
    data = metrics["data"]
    rules_line = ("Rule features: the model also reads the rule backend's tags (each token's rule BIO tag is its "
                  "token type id), so the rule backend runs before it at tagging time." if data["rule_features"]
                  else "No rule features: the model reads the text alone.")
    if data["keep_rule_labels"]:
        rules_line += (f" At tagging time the rule backend's {', '.join(data['keep_rule_labels'])} spans are kept over "
                       "the model's own (a model span that overlaps one gives way).")
    if data["final_fit"]:
        selection = ("Final fit: train and dev together for a fixed number of epochs chosen beforehand on dev "
                     "(no checkpoint selection).")
        dev_note = " (trained on in this final fit: not a held-out score)"
    else:
        selection, dev_note = "Best checkpoint by dev entity F1 (seqeval, strict IOB2, over windows).", ""
    return f"""# govtargets token classifier

A BERT token classifier that tags INDICATOR, VALUE, UNIT and PROJECT spans (BIO, character level) in
Chinese government work reports, for the govtargets post-processor. Labelling standard:
annotations/GUIDE.md.

## Training
- Base model: `{metrics['base_model']}`
- Configuration: `{metrics['config_file']}` (seed {metrics['seed']}); command: `{metrics['command']}`
- Gold data (annotations/gold, split by document in annotations/splits.yaml):
  train {data['train_items']} sentences from {len(data['train_documents'])} documents,
  dev {data['dev_items']} sentences; {data['crop_examples']} random entity-safe crops of train
  sentences ({data['crops']} tried per sentence with spans); {data['swap_examples']} copies of train sentences
  with their {', '.join(data['swap_labels'])} mentions swapped for other train mentions ({data['swaps']} per
  sentence); silver: {data['silver_examples']} rule-tagged sentences (loss weight {data['silver_weight']}).
- {rules_line}
- Windows of {data['max_seq_length']} tokens, stride {data['stride']}; {metrics['train']['epochs']} epochs,
  {metrics['train']['steps']} steps, {metrics['train']['runtime_s']} s on {metrics['train']['threads']} CPU threads.
- {selection}

## Results
Entity scores: seqeval strict IOB2 over characters, per sentence as the pipeline runs. Target scores:
records the linker builds from predicted spans vs from gold spans (value+unit; + indicator, comparator,
measure; + status). The test split was not used for training or model selection.

### Test ({', '.join(metrics['evaluation'].get('test', {}).get('documents', []))})
{table('test')}
### Dev{dev_note}
{table('dev')}
### Shipping bar (test split F1, model vs rules)
{verdict}
{chr(10).join(bar_lines)}

## Limits
- Trained on a small gold corpus (national State Council reports, five local report pages, fifteen
  local excerpts): local report styles that differ much from these are less reliable.
- The pretrained encoder is small and was trained on about one million characters; a larger public
  Chinese BERT (pass `--base_model`) should do better where it can be downloaded.
- Target-level scores measure tagging through the rule linker; linker errors on gold spans are not
  counted here.
- The rule backend was written while reading some of the gold documents (the annotation guide's
  examples come from seed_000, a test document). A model with rule features or kept rule labels
  inherits that fit: compare it with the rules on documents the rules were not written on.
"""


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    wall_start = time.perf_counter()
    model_args, data_args, training_args = parse_arguments(argv)
    for option, labels in (("swap_labels", data_args.swap_labels), ("upweight_labels", training_args.upweight_labels),
                           ("keep_rule_labels", data_args.keep_rule_labels)):
        unknown = sorted(set(labels) - set(LABELS))
        if unknown:
            raise ValueError(f"{option}: unknown labels {unknown} (choose from {', '.join(LABELS)})")
    torch.set_num_threads(training_args.threads)
    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()  # keeps a background run's log readable
    set_seed(training_args.seed)
    output_dir = Path(training_args.output_dir)

    # Data
    files = split_files(data_args)
    if data_args.final_fit and (training_args.eval_strategy != "no" or training_args.load_best_model_at_end):
        raise ValueError("final_fit trains on dev: set eval_strategy: no and load_best_model_at_end: false")
    train_files = files["train"] + (files["dev"] if data_args.final_fit else [])
    train = gold_examples(train_files)
    if data_args.max_train_items is not None:
        train = train[: data_args.max_train_items]
    crops = crop_examples(train, data_args.crops, training_args.seed)
    swapped = swap_examples(train, data_args.swaps, data_args.swap_labels, training_args.seed)
    dev = [] if data_args.final_fit else gold_examples(files["dev"])
    silver: list[dict[str, Any]] = []
    if data_args.silver:
        gold_docs = {item.meta.get("doc") for paths in files.values() for p in paths for item in read_annotations(p)}
        silver = silver_examples(data_args, {str(d) for d in gold_docs}, training_args.seed)

    # Model
    tokenizer = AutoTokenizer.from_pretrained(model_args.base_model)
    model = AutoModelForTokenClassification.from_pretrained(
        model_args.base_model, num_labels=len(BIO_TAGS),
        id2label=dict(enumerate(BIO_TAGS)), label2id={t: i for i, t in enumerate(BIO_TAGS)},
    )
    if data_args.rule_features:
        add_rule_features(model)
    elif getattr(model.config, RULE_FEATURES, False):
        # The tagger would feed it rule tags that this run never trained with.
        raise ValueError(f"{model_args.base_model} reads rule features: fine-tune it with rule_features: true")
    setattr(model.config, KEEP_RULE_LABELS, list(data_args.keep_rule_labels))
    train_dataset = tokenize_and_align(train + crops + swapped + silver, tokenizer, data_args)
    dev_dataset = tokenize_and_align(dev, tokenizer, data_args) if dev else None

    # Training
    training_args.remove_unused_columns = False  # keeps the weight column for the loss
    training_args.label_names = ["labels"]
    label_weights = torch.tensor([training_args.upweight if tag[2:] in training_args.upweight_labels else 1.0
                                  for tag in BIO_TAGS])
    trainer = WeightedTrainer(
        label_weights=label_weights,
        model=model, args=training_args, train_dataset=train_dataset, eval_dataset=dev_dataset,
        data_collator=lambda features: collate(features, tokenizer.pad_token_id or 0),
        compute_metrics=window_metrics, processing_class=tokenizer,
    )
    print(f"{len(train)} gold + {len(crops)} cropped + {len(swapped)} swapped + {len(silver)} silver examples → "
          f"{len(train_dataset)} windows; "
          f"{len(dev)} dev examples; {model.num_parameters():,} parameters", flush=True)
    result = trainer.train()
    trainer.save_model(str(output_dir))
    tokenizer.save_pretrained(str(output_dir))
    # Keep only the final model in the output folder; checkpoints are training by-products.
    for checkpoint in output_dir.glob("checkpoint-*"):
        import shutil

        shutil.rmtree(checkpoint)

    # Metrics and model card
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    metrics: dict[str, Any] = {
        "base_model": model_args.base_model,
        "config_file": training_args.config_file,
        "command": "python training/train_ner.py " + " ".join(argv),
        "seed": training_args.seed,
        "data": {
            **asdict(data_args),
            "train_documents": [p.stem for p in train_files],
            "train_items": len(train), "dev_items": len(dev), "silver_examples": len(silver),
            "crop_examples": len(crops), "swap_examples": len(swapped),
            "train_windows": len(train_dataset),
        },
        "train": {
            "loss_first": round(losses[0], 4) if losses else None,
            "loss_last": round(losses[-1], 4) if losses else None,
            "loss_mean": round(result.training_loss, 4),
            "epochs": round(trainer.state.epoch or 0.0, 2),
            "steps": trainer.state.global_step,
            "best_checkpoint_dev_f1": trainer.state.best_metric,
            "runtime_s": round(result.metrics["train_runtime"], 1),
            "threads": torch.get_num_threads(),
            "upweight_labels": training_args.upweight_labels, "upweight": training_args.upweight,
        },
        "evaluation": {
            "dev": evaluate_split(files["dev"], output_dir, training_args.threads),
            "test": evaluate_split(files["test"], output_dir, training_args.threads),
        },
    }
    metrics["shipping_bar"] = shipping_bar(metrics["evaluation"]["test"])
    metrics["wall_time_s"] = round(time.perf_counter() - wall_start, 1)
    (output_dir / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n",
                                             encoding="utf-8")
    (output_dir / "MODEL_CARD.md").write_text(model_card(metrics), encoding="utf-8")
    # Trainer artefacts that do not belong in a shipped model folder.
    for name in ("training_args.bin",):
        (output_dir / name).unlink(missing_ok=True)
    print(json.dumps(metrics["train"]), flush=True)
    return metrics


if __name__ == "__main__":
    main()
