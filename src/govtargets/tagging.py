"""The model backend: a BERT-family token classifier (BIO over INDICATOR/VALUE/UNIT/PROJECT) as a `Backend`.

Long sentences are cut into overlapping token windows and merged back (each token keeps the
prediction of the window where it sits farthest from an edge), so nothing is truncated at the
model's maximum length. Decoding picks the most probable tag sequence that is valid BIO (an I- tag
only after B- or I- of its label), then follows those tags and never joins spans across an O token.

A model trained with rule features (config.json `rule_features: true`) also reads the rule backend's
tags: each token's rule BIO tag is its token type id, so the model learns when the rules are right
(their PROJECT spans are precise but rare) and tags what they miss. A model may also keep the rule
backend's spans of some labels outright (config.json `keep_rule_labels`, chosen on dev): its own
spans that overlap them are dropped.

The forward pass runs in torch or, after `export_onnx`, in ONNX Runtime (fp32 or int8 weights); the
tokenizer, windows, batches and decoding are the same for every runtime. Batches run side by side on
`threads` worker threads, each op on one thread: a batch of this small model is too small for an op to
gain from several threads (they wait for each other at every op, and the cores idle while Python
dispatches the next op), while whole batches in parallel keep every core busy. On 2 cores, measured
over the batches of 5 national reports: torch 1.07x and ONNX Runtime int8 1.19x faster than one batch
at a time on 2 intra-op threads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

from govtargets.convbert import use_fast_attention
from govtargets.data import TAG2ID, spans_to_bio
from govtargets.records import LABELS, Span
from govtargets.rules import RuleBackend

RUNTIMES: tuple[str, ...] = ("torch", "onnx", "onnx-int8")
# An export lives inside the model folder and reuses its tokenizer and config.json (labels, lengths).
ONNX_DIR = "onnx"
ONNX_FILES: dict[str, str] = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
# ONNX metadata key: the hash of the weights an export was made from, to refuse a stale export.
WEIGHTS_KEY = "govtargets.weights_sha256"
# ONNX metadata key of what the graph computes, raised when that changes, to refuse an export made by an
# older govtargets (2: ConvBERT convolutions read padding as zeros, see convbert.py).
GRAPH_KEY = "govtargets.graph"
GRAPH_VERSION = "2"
WEIGHT_FILES: tuple[str, ...] = ("model.safetensors", "pytorch_model.bin")
# config.json flag of a model whose token type ids are the rule backend's tags (`rule_token_types`).
RULE_FEATURES = "rule_features"
# config.json list of labels whose rule-backend spans the model keeps over its own (`keep_rule_spans`).
KEEP_RULE_LABELS = "keep_rule_labels"


class TaggingError(Exception):
    """The model could not be loaded, used or exported."""


@dataclass
class _Window:
    sentence: int  # index into the batch of sentences
    first: int  # index of the window's first token in the sentence's token list
    ids: list[int]
    types: list[int] | None = None  # rule tag ids, for a model with rule features


def keep_rule_spans(spans: list[Span], rule_spans: list[Span], labels: frozenset[str], probs: np.ndarray,
                    offsets: list[tuple[int, int]], tag_ids: dict[str, int]) -> list[Span]:
    """The model's spans with the rule spans of `labels` put in: a model span that overlaps one of
    them gives way. A kept span's score is the model's mean probability of B-/I- of its label over
    the span's tokens, so the confidence still says how much the model agrees."""
    kept = [r for r in rule_spans if r.label in labels]
    if not kept:
        return spans
    out = [s for s in spans if not any(s.start < k.end and k.start < s.end for k in kept)]
    for span in kept:
        tokens = [i for i, (start, end) in enumerate(offsets) if end > start and span.start <= start < span.end]
        scores = [float(probs[i, tag_ids[("I-" if n else "B-") + span.label]]) for n, i in enumerate(tokens)]
        out.append(replace(span, score=sum(scores) / len(scores) if scores else span.score))
    return sorted(out, key=lambda s: (s.start, s.end))


def rule_token_types(text: str, spans: list[Span], offsets: list[tuple[int, int]]) -> list[int]:
    """The rule backend's BIO tag of each token's first character, as a tag id (O = 0): the token type
    ids of a model with rule features. Special and empty tokens (offsets start == end) get 0."""
    tags = spans_to_bio(text, spans, "rules")
    return [TAG2ID[tags[start]] if end > start else 0 for start, end in offsets]


def decode_bio(tags: list[str], scores: list[float], offsets: list[tuple[int, int]], text: str) -> list[Span]:
    """Token BIO tags → character spans. An I- tag continues only a span of the same label that the
    previous token belongs to; after O or another label it opens a new span (lenient, never merging)."""
    spans: list[Span] = []
    label: str | None = None
    start = end = 0
    token_scores: list[float] = []

    def close() -> None:
        if label is not None:
            piece = text[start:end]
            left = len(piece) - len(piece.lstrip())
            right = len(piece.rstrip())
            if piece.strip():
                spans.append(Span(label, start + left, start + right, piece[left:right],
                                  sum(token_scores) / len(token_scores)))

    for tag, score, (char_start, char_end) in zip(tags, scores, offsets, strict=True):
        prefix, _, kind = tag.partition("-")
        if prefix == "I" and label == kind:
            end = char_end
            token_scores.append(score)
            continue
        close()
        label = None
        if prefix in ("B", "I") and kind in LABELS:
            label, start, end, token_scores = kind, char_start, char_end, [score]
    close()
    return spans


# Additive log-score of a forbidden step: large enough to lose to any allowed path, finite so sums stay exact.
_FORBIDDEN = -1e9


def bio_constraints(tags: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Penalties for a tag sequence: `start[j]` on the first token, `step[i, j]` from tag i to tag j;
    0 where BIO allows it, `_FORBIDDEN` where it does not (I-X after O, after another label, first)."""
    start = np.zeros(len(tags))
    step = np.zeros((len(tags), len(tags)))
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            start[j] = _FORBIDDEN
            for i, previous in enumerate(tags):
                if previous[2:] != tag[2:]:
                    step[i, j] = _FORBIDDEN
    return start, step


def viterbi(log_probs: np.ndarray, start: np.ndarray, step: np.ndarray) -> list[int]:
    """The tag ids of the most probable sequence under the constraints (log_probs: [tokens, tags]).

    Taking each token's best tag on its own lets one uncertain character split a name in two
    (铁路专用线 → 铁路 + 用线, the 专 tagged O, the 用 I-PROJECT); the best valid sequence either keeps
    the name whole or drops the dangling piece, whichever the probabilities favour.
    """
    score = log_probs[0] + start
    columns = np.arange(log_probs.shape[1])
    back = []
    for row in log_probs[1:]:
        total = score[:, None] + step  # [previous tag, tag]
        best = total.argmax(0)
        back.append(best)
        score = total[best, columns] + row
    path = [int(score.argmax())]
    for best in reversed(back):
        path.append(int(best[path[-1]]))
    return path[::-1]


def onnx_file(model_dir: str | Path, runtime: str) -> Path:
    """Where `export_onnx` puts the file an ONNX runtime loads."""
    return Path(model_dir) / ONNX_DIR / ONNX_FILES[runtime]


def weights_digest(model_dir: str | Path) -> str | None:
    """sha256 of the folder's weights file, or None when it has none of the usual names."""
    for name in WEIGHT_FILES:
        path = Path(model_dir) / name
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()
    return None


def available_cores() -> int:
    """The cores this process may run on (its affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _onnx_session(path: Path, model_dir: Path) -> Any:
    """An ONNX Runtime session whose ops run on one thread: `ModelBackend` calls its `run` from several
    worker threads at once, one batch each."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        # ONNX Runtime 1.32's fused SkipLayerNormalization took 1.6 ms per layer norm on a [32, 60, 256]
        # batch, a quarter of the int8 graph's time; the unfused Add + LayerNormalization make the int8
        # graph 1.37x and the fp32 graph 1.17x faster (fp32 probabilities within 3e-6).
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                       disabled_optimizers=["SkipLayerNormFusion"])
    except Exception as err:  # onnxruntime raises its own exception types for unreadable or invalid graphs
        raise TaggingError(f"cannot load {path}: {err}") from err
    metadata = session.get_modelmeta().custom_metadata_map
    if metadata.get(GRAPH_KEY) != GRAPH_VERSION:
        raise TaggingError(f"{path} was exported by an older govtargets that computed the model differently; "
                           f"run `govtargets export-onnx --model {model_dir}` again")
    exported_from = metadata.get(WEIGHTS_KEY)
    if exported_from and exported_from != weights_digest(model_dir):
        raise TaggingError(f"{path} was exported from other weights than {model_dir} holds now; "
                           f"run `govtargets export-onnx --model {model_dir}` again")
    return session


class ModelBackend:
    """Tags normalised sentences with a fine-tuned token classifier loaded with `from_pretrained`.

    `runtime`: "torch" runs the model folder's weights; "onnx" / "onnx-int8" run the export that
    `export_onnx` wrote into the folder's onnx/ subfolder. Batches run side by side on `threads` worker
    threads (default: every available core), each batch on one thread; when there are fewer batches
    than threads, torch gives each batch the spare ones (an ONNX session keeps one). While torch
    batches run, torch's intra-op thread count is set for the whole process, and put back after.
    """

    name = "model"

    def __init__(
        self, model_dir: str | Path, *, runtime: str = "torch", threads: int | None = None, batch_size: int = 32,
        max_length: int = 256, stride: int = 64,
    ) -> None:
        if runtime not in RUNTIMES:
            raise TaggingError(f"unknown runtime {runtime!r} (choose from {', '.join(RUNTIMES)})")
        path = Path(model_dir)
        # A local folder must be complete; anything else is passed on as a hub name (works online).
        if path.exists() and not (path / "config.json").is_file():
            raise TaggingError(f"{path}: not a model folder (no config.json)")
        if not path.exists() and (str(model_dir).startswith((".", "/")) or path.suffix):
            raise TaggingError(f"{path}: model folder does not exist")
        if runtime != "torch" and not onnx_file(path, runtime).is_file():
            raise TaggingError(f"{onnx_file(path, runtime)}: no ONNX export of the model "
                               f"(run `govtargets export-onnx --model {model_dir}` first)")
        self.runtime = runtime
        if runtime != "torch":
            self.name = f"model ({runtime})"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
            if runtime == "torch":
                self.model = AutoModelForTokenClassification.from_pretrained(str(model_dir))
                config = self.model.config
            else:
                config = AutoConfig.from_pretrained(str(model_dir))
        except (OSError, ValueError) as err:
            raise TaggingError(f"cannot load model {model_dir}: {err}") from err
        if threads is not None and threads < 1:
            raise TaggingError(f"threads must be at least 1, not {threads}")
        self.threads = threads or available_cores()
        if runtime == "torch":
            self.model.eval()
            use_fast_attention(self.model)
        else:
            self.session = _onnx_session(onnx_file(path, runtime), path)
        self.id2label = {int(i): label for i, label in config.id2label.items()}
        self.rule_features = bool(getattr(config, RULE_FEATURES, False))
        self.keep_rule_labels = frozenset(getattr(config, KEEP_RULE_LABELS, None) or ())
        self.rules = RuleBackend() if self.rule_features or self.keep_rule_labels else None
        tags = [self.id2label[i] for i in range(len(self.id2label))]
        self.tag_ids = {tag: i for i, tag in enumerate(tags)}
        missing = sorted(f"{p}-{label}" for label in self.keep_rule_labels for p in "BI" if f"{p}-{label}" not in tags)
        if missing:
            raise TaggingError(f"{model_dir}: {KEEP_RULE_LABELS} needs tags the model does not have: {missing}")
        self.outside = tags.index("O")
        self.constraints = bio_constraints(tags)
        self.batch_size = batch_size
        limit = min(max_length, int(getattr(config, "max_position_embeddings", max_length)))
        self.window = limit - 2  # room for [CLS] and [SEP]
        self.stride = min(stride, self.window // 2)

    def _windows(self, index: int, ids: list[int], types: list[int] | None = None) -> list[_Window]:
        if len(ids) <= self.window:
            return [_Window(index, 0, ids, types)]
        windows = []
        step = self.window - self.stride
        first = 0
        while True:
            piece = None if types is None else types[first : first + self.window]
            windows.append(_Window(index, first, ids[first : first + self.window], piece))
            if first + self.window >= len(ids):
                return windows
            first += step

    @torch.inference_mode()  # per thread: each worker thread enters it itself
    def _forward(self, inputs: dict[str, torch.Tensor]) -> np.ndarray:
        """Label probabilities [batch, tokens, labels]: the one step that differs between runtimes."""
        if self.runtime == "torch":
            return self.model(**inputs).logits.softmax(-1).numpy()
        (probs,) = self.session.run(["probs"], {name: tensor.numpy() for name, tensor in inputs.items()})
        return probs

    def forward_batches(self, batches: list[dict[str, torch.Tensor]]) -> list[np.ndarray]:
        """`_forward` of every batch, in order, run side by side on up to `threads` worker threads."""
        workers = min(self.threads, len(batches))
        if workers == 0:
            return []
        previous = torch.get_num_threads()
        if self.runtime == "torch":
            torch.set_num_threads(max(1, self.threads // workers))
        try:
            if workers == 1:
                return [self._forward(inputs) for inputs in batches]
            with ThreadPoolExecutor(workers, thread_name_prefix="govtargets-batch") as pool:
                return list(pool.map(self._forward, batches))
        finally:
            torch.set_num_threads(previous)

    def _predict(self, windows: list[_Window]) -> list[np.ndarray]:
        """Label probabilities [tokens, labels] for every token of every window, batched by similar
        length. Rows are views into one array per batch: per-token tensor calls in Python cost as
        much as the forward pass of a small model."""
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        pad = self.tokenizer.pad_token_id or 0
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids))
        results: list[np.ndarray] = [np.empty((0, len(self.id2label)))] * len(windows)
        chunks: list[list[int]] = []
        batches: list[dict[str, torch.Tensor]] = []
        for begin in range(0, len(order), self.batch_size):
            chunk = order[begin : begin + self.batch_size]
            longest = max(len(windows[i].ids) for i in chunk) + 2
            rows = [[cls, *windows[i].ids, sep] + [pad] * (longest - len(windows[i].ids) - 2) for i in chunk]
            mask = torch.arange(longest)[None, :] < torch.tensor([len(windows[i].ids) + 2 for i in chunk])[:, None]
            inputs = {"input_ids": torch.tensor(rows, dtype=torch.long), "attention_mask": mask.long()}
            if self.rule_features:
                types = [[0, *(windows[i].types or [0] * len(windows[i].ids)), 0]
                         + [0] * (longest - len(windows[i].ids) - 2) for i in chunk]
                inputs["token_type_ids"] = torch.tensor(types, dtype=torch.long)
            chunks.append(chunk)
            batches.append(inputs)
        for chunk, probs in zip(chunks, self.forward_batches(batches), strict=True):
            for row, i in enumerate(chunk):
                results[i] = probs[row, 1 : 1 + len(windows[i].ids)]
        return results

    def _encode(self, sentences: list[str]) -> tuple[Any, list[_Window], list[list[Span]] | None]:
        """Tokens with character offsets, the windows the model reads (with rule tags if it uses them)
        and the rule backend's spans (None when the model needs none)."""
        # Whole sentences on purpose (no truncation): long ones are windowed, so silence the length warning.
        encoded = self.tokenizer(sentences, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        rule_spans = self.rules.tag(sentences) if self.rules is not None else None
        windows: list[_Window] = []
        for index, ids in enumerate(encoded["input_ids"]):
            types = None
            if rule_spans is not None and self.rule_features:
                types = rule_token_types(sentences[index], rule_spans[index], encoded["offset_mapping"][index])
            windows.extend(self._windows(index, ids, types))
        return encoded, windows, rule_spans

    def tag(self, sentences: list[str]) -> list[list[Span]]:
        if not sentences:
            return []
        encoded, windows, rule_spans = self._encode(sentences)
        predictions = self._predict(windows)
        # Merge windows: a token keeps the prediction from the window where it is farthest from an edge.
        merged: list[np.ndarray | None] = [None] * len(sentences)
        margins: dict[int, np.ndarray] = {}
        for window, probs in zip(windows, predictions, strict=True):
            size = len(encoded["input_ids"][window.sentence])
            if window.first == 0 and len(window.ids) == size:
                merged[window.sentence] = probs  # the usual case: one window per sentence
                continue
            if merged[window.sentence] is None:
                merged[window.sentence] = np.zeros((size, probs.shape[1]), dtype=probs.dtype)
                margins[window.sentence] = np.full(size, -1)
            k = np.arange(len(window.ids))
            margin = np.minimum(k, len(window.ids) - 1 - k)
            positions = window.first + k
            better = margin > margins[window.sentence][positions]
            margins[window.sentence][positions[better]] = margin[better]
            merged[window.sentence][positions[better]] = probs[better]  # type: ignore[index]
        results: list[list[Span]] = []
        for index, text in enumerate(sentences):
            probs = merged[index]
            best = probs.argmax(1) if probs is not None and probs.size else None
            offsets = list(encoded["offset_mapping"][index])
            spans: list[Span] = []  # most sentences name no target: decoding is skipped for them
            if best is not None and not (best == self.outside).all():
                start, step = self.constraints
                if start[best[0]] == 0 and (step[best[:-1], best[1:]] == 0).all():
                    label_ids = best.tolist()  # already valid BIO, so also the best valid sequence
                else:
                    label_ids = viterbi(np.log(np.maximum(probs, 1e-12)), start, step)
                scores = probs[np.arange(len(label_ids)), label_ids].tolist()
                spans = decode_bio([self.id2label[i] for i in label_ids], scores, offsets, text)
            if self.keep_rule_labels and rule_spans is not None and probs is not None:
                spans = keep_rule_spans(spans, rule_spans[index], self.keep_rule_labels, probs, offsets, self.tag_ids)
            results.append(spans)
        return results


class _Probabilities(torch.nn.Module):
    """The classifier followed by its softmax, so that an export computes what `_forward` returns."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        if token_type_ids is None:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits.softmax(-1)
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).logits.softmax(-1)


@contextmanager
def _quiet() -> Iterator[None]:
    """The exporter and the quantizer print progress and generic advice (warnings, root logger) that
    would bury the result of `govtargets export-onnx`; errors still surface as exceptions."""
    loggers = [logging.getLogger(), logging.getLogger("torch.onnx")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _stamp(path: Path, digest: str | None) -> None:
    import onnx

    model = onnx.load(str(path))
    props = {prop.key: prop.value for prop in model.metadata_props}
    props[GRAPH_KEY] = GRAPH_VERSION
    if digest is not None:
        props[WEIGHTS_KEY] = digest
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(path))


def _run_onnx(path: Path, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (probs,) = session.run(["probs"], {name: tensor.numpy() for name, tensor in inputs.items()})
    return torch.from_numpy(probs)


def _example(vocab_size: int, batch: int, length: int, seed: int, types: int = 0) -> dict[str, torch.Tensor]:
    """Random ids with the last row padded from half its length: the graph must honour the mask.
    With `types` (a model with rule features), random token type ids below it as well."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, vocab_size, (batch, length), generator=generator)
    mask = torch.ones_like(input_ids)
    mask[-1, length // 2 :] = 0
    example = {"input_ids": input_ids, "attention_mask": mask}
    if types:
        example["token_type_ids"] = torch.randint(0, types, (batch, length), generator=generator)
    return example


def _replace_dir(new: Path, target: Path) -> None:
    """Move `new` to `target`; an existing `target` (an earlier export) is swapped out, then removed."""
    if not target.exists():
        os.replace(new, target)
        return
    old = new.with_name(new.name + ".old")
    shutil.rmtree(old, ignore_errors=True)  # left over by an interrupted run
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old)


def _export_and_check(
    wrapper: _Probabilities, fp32: Path, example: dict[str, torch.Tensor], axes: dict[int, Any],
    vocab_size: int, longest: int, quantize: bool, types: int,
) -> list[Path]:
    with _quiet():
        program = torch.onnx.export(
            wrapper, (), kwargs=example, input_names=list(example), output_names=["probs"],
            dynamic_shapes={name: axes for name in example}, dynamo=True, verbose=False,
        )
    if program is None:
        raise TaggingError("torch.onnx.export returned no program")
    program.save(str(fp32), external_data=False)
    # A shape other than the traced one checks that the batch and sequence axes really are dynamic.
    for inputs in (example, _example(vocab_size, 3, min(23, longest), seed=1, types=types)):
        with torch.inference_mode():
            expected = wrapper(**inputs)
        got = _run_onnx(fp32, inputs)
        mask = inputs["attention_mask"].bool()
        diff = float((got - expected)[mask].abs().max()) if got.shape == expected.shape else float("inf")
        if diff > 1e-3:
            raise TaggingError(f"the ONNX graph disagrees with torch (max probability difference {diff:.2g})")
    if not quantize:
        return [fp32]
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8 = fp32.with_name(ONNX_FILES["onnx-int8"])
    # Only the weight matmuls and the embedding tables: ONNX Runtime's ConvInteger (ConvBERT's span
    # convolutions) runs slower than the fp32 Conv on CPU, which made the fully quantised graph no
    # faster than fp32 (0.79x torch); without it int8 is ~1.5x the fp32 graph.
    with _quiet():
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gather"])
    _run_onnx(int8, example)  # fails here rather than at tagging time
    return [fp32, int8]


def export_onnx(model_dir: str | Path, out_dir: str | Path | None = None, *, quantize: bool = True) -> list[Path]:
    """Export the token classifier to `out_dir` (default MODEL_DIR/onnx): model.onnx (fp32, dynamic batch
    and sequence axes, inputs input_ids and attention_mask, plus token_type_ids for a model with rule
    features; output `probs`) and, with `quantize`, model.int8.onnx (dynamic int8 weights).

    The files are written to a temporary folder next to `out_dir` and moved into place together, so an
    earlier export is replaced whole (no fp32 of one model next to an int8 of another). The fp32 graph
    is checked against torch on two batch shapes before anything is moved. Returns the written files.
    """
    model_path = Path(model_dir)
    if not (model_path / "config.json").is_file():
        raise TaggingError(f"{model_path}: not a model folder (no config.json)")
    target = Path(out_dir) if out_dir is not None else model_path / ONNX_DIR
    if target.exists() and (not target.is_dir() or any(p.name not in ONNX_FILES.values() for p in target.iterdir())):
        raise TaggingError(f"{target}: exists and holds other files than an ONNX export; choose another output folder")
    try:
        model = AutoModelForTokenClassification.from_pretrained(str(model_path))
    except (OSError, ValueError) as err:
        raise TaggingError(f"cannot load model {model_path}: {err}") from err
    model.eval()
    use_fast_attention(model)  # the graph then has no Gather-heavy unfold; checked against torch below
    wrapper = _Probabilities(model).eval()
    longest = int(getattr(model.config, "max_position_embeddings", 512))
    vocab_size = int(model.config.vocab_size)
    types = int(model.config.type_vocab_size) if getattr(model.config, RULE_FEATURES, False) else 0
    example = _example(vocab_size, 2, min(16, longest), seed=0, types=types)
    from torch.export import Dim

    # A window is at least [CLS] [SEP] and at most the position embeddings long.
    axes = {0: Dim("batch", min=1), 1: Dim("sequence", min=2, max=longest)}
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        fp32 = tmp / ONNX_FILES["onnx"]
        try:
            written = _export_and_check(wrapper, fp32, example, axes, vocab_size, longest, quantize, types)
        except TaggingError:
            raise
        except Exception as err:  # torch.export and onnxruntime raise many unrelated types
            raise TaggingError(f"ONNX export of {model_path} failed: {type(err).__name__}: {err}") from err
        digest = weights_digest(model_path)
        for path in written:
            _stamp(path, digest)
        _replace_dir(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [target / path.name for path in written]
