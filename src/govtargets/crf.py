"""A CRF baseline backend: a linear-chain CRF (CRFsuite through sklearn-crfsuite) over characters.

It answers "how much does the transformer buy over a classic sequence labeller with hand-made
features?" on the same gold data, split and scoring. Features of a character are its own form, its
neighbours within ±2, the bigrams and trigrams around it, coarse character classes (Arabic digit,
Chinese numeral, punctuation, Latin letter, other Han) and whether a unit word of
`numbers.UNIT_WORDS` starts at or covers it.

The model is saved as the CRFsuite model file itself (no pickle: loading a benchmark artefact must
not run code) plus a JSON sidecar (`<model>.json`) with the feature version, the hyper-parameters
and a digest of the training files, so a stale model can be recognised and retrained.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pycrfsuite
from sklearn_crfsuite import CRF

from govtargets.data import read_annotations, spans_to_bio
from govtargets.documents import normalize
from govtargets.numbers import UNIT_WORDS
from govtargets.records import Span
from govtargets.tagging import decode_bio

# Bump whenever `char_features` changes: a model trained on other features must not be used.
FEATURE_VERSION = 1

# Arabic digits are their own class; these are the characters that spell numbers in Chinese.
CHINESE_NUMERALS = frozenset("〇零一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟")

# Training texts are cut where a sentence ends (the backend is given sentences, so the sequence
# starts and ends it learns from should be sentence starts and ends, not paragraph ones).
_SENTENCE_END_RE = re.compile(r"[。！？；!?;]+")


class CrfError(Exception):
    """A CRF model that cannot be trained, loaded or used."""


def char_class(char: str) -> str:
    """D Arabic digit, N Chinese numeral, P punctuation or symbol, L Latin letter, S space, H other Han,
    O anything else."""
    if char.isascii() and char.isdigit():
        return "D"
    if char in CHINESE_NUMERALS:
        return "N"
    if char.isspace():
        return "S"
    if char.isascii() and char.isalpha():
        return "L"
    category = unicodedata.category(char)
    if category[0] in "PS":
        return "P"
    if "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf":
        return "H"
    return "O"


@cache
def _unit_words_by_length() -> tuple[int, dict[int, frozenset[str]]]:
    lengths: dict[int, set[str]] = {}
    for word in UNIT_WORDS:
        lengths.setdefault(len(word), set()).add(word)
    return max(lengths), {n: frozenset(words) for n, words in lengths.items()}


def unit_matches(text: str) -> list[int]:
    """For each position, the length of the longest unit word starting there (0 if none)."""
    longest, words = _unit_words_by_length()
    found = [0] * len(text)
    for i in range(len(text)):
        for n in range(min(longest, len(text) - i), 0, -1):
            if text[i : i + n] in words.get(n, ()):
                found[i] = n
                break
    return found


def char_features(text: str) -> list[dict[str, Any]]:
    """CRFsuite feature dicts, one per character of a normalised text."""
    padded = ["<s2>", "<s1>", *text, "</s1>", "</s2>"]
    classes = ["B", "B", *(char_class(c) for c in text), "E", "E"]
    starts = unit_matches(text)
    # A multi-character unit word covers the characters after its first one too.
    inside = [False] * len(text)
    for i, n in enumerate(starts):
        for k in range(i + 1, i + n):
            inside[k] = True
    features: list[dict[str, Any]] = []
    for i in range(len(text)):
        p = i + 2  # index in the padded lists
        c = padded
        f: dict[str, Any] = {
            "bias": 1.0,
            "c0": c[p], "c-1": c[p - 1], "c-2": c[p - 2], "c+1": c[p + 1], "c+2": c[p + 2],
            "c-2c-1": c[p - 2] + c[p - 1], "c-1c0": c[p - 1] + c[p], "c0c+1": c[p] + c[p + 1],
            "c+1c+2": c[p + 1] + c[p + 2],
            "c-2c-1c0": c[p - 2] + c[p - 1] + c[p], "c-1c0c+1": c[p - 1] + c[p] + c[p + 1],
            "c0c+1c+2": c[p] + c[p + 1] + c[p + 2],
            "t0": classes[p], "t-1": classes[p - 1], "t+1": classes[p + 1],
            "t-1t0t+1": "".join(classes[p - 1 : p + 2]), "t-2..t+2": "".join(classes[p - 2 : p + 3]),
            "digit": classes[p] == "D", "cn_numeral": classes[p] == "N", "punct": classes[p] == "P",
            "latin": classes[p] == "L",
            "unit_in": inside[i],
        }
        if starts[i]:
            f["unit_start"] = str(min(starts[i], 4))
        if i > 0 and starts[i - 1]:
            f["unit_start-1"] = str(min(starts[i - 1], 4))
        if i + 1 < len(text) and starts[i + 1]:
            f["unit_start+1"] = str(min(starts[i + 1], 4))
        features.append(f)
    return features


def sentence_pieces(text: str, tags: Sequence[str]) -> list[tuple[str, list[str]]]:
    """A paragraph and its tags cut after sentence-final punctuation, never inside a span."""
    pieces: list[tuple[str, list[str]]] = []
    begin = 0
    for match in _SENTENCE_END_RE.finditer(text):
        end = match.end()
        if end < len(text) and tags[end].startswith("I-"):
            continue
        pieces.append((text[begin:end], list(tags[begin:end])))
        begin = end
    if begin < len(text):
        pieces.append((text[begin:], list(tags[begin:])))
    return [(t, g) for t, g in pieces if t.strip()]


def training_data(files: Sequence[str | Path]) -> tuple[list[list[dict[str, Any]]], list[list[str]]]:
    """Feature sequences and BIO tags of the gold paragraphs in `files`, cut into sentences."""
    xs: list[list[dict[str, Any]]] = []
    ys: list[list[str]] = []
    for file in files:
        for item in read_annotations(file):
            # Normalisation keeps every offset, so the gold tags of the text as written still fit.
            tags = spans_to_bio(item.text, item.spans, item.name)
            for text, piece_tags in sentence_pieces(normalize(item.text), tags):
                xs.append(char_features(text))
                ys.append(piece_tags)
    return xs, ys


def files_digest(files: Sequence[str | Path]) -> str:
    """sha256 over the names and contents of the training files, in order."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(Path(file).name.encode("utf-8") + b"\0")
        digest.update(Path(file).read_bytes() + b"\0")
    return digest.hexdigest()


def sidecar_path(model_path: str | Path) -> Path:
    path = Path(model_path)
    return path.with_name(path.name + ".json")


def train_crf(
    train_files: Sequence[str | Path], out_path: str | Path, c1: float = 0.3, c2: float = 0.001,
    max_iterations: int = 200,
) -> dict[str, Any]:
    """Train on the gold paragraphs of `train_files`; write the CRFsuite model to `out_path` and its
    metadata to `<out_path>.json`. Returns the metadata."""
    if not train_files:
        raise CrfError("no training files")
    started = time.perf_counter()
    xs, ys = training_data(train_files)
    if not any(tag != "O" for tags in ys for tag in tags):
        raise CrfError("the training files contain no annotated span")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    # all_possible_transitions lets the model learn that e.g. O → I-VALUE is unlikely.
    crf = CRF(algorithm="lbfgs", c1=c1, c2=c2, max_iterations=max_iterations, all_possible_transitions=True,
              model_filename=str(partial))
    try:
        crf.fit(xs, ys)
        if crf.training_log_ is None or not partial.is_file():
            raise CrfError("CRFsuite wrote no model")
        iterations = len(crf.training_log_.iterations)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    meta = {
        "feature_version": FEATURE_VERSION,
        "c1": c1, "c2": c2, "max_iterations": max_iterations, "iterations": iterations,
        "train_files": [Path(f).name for f in train_files],
        "train_digest": files_digest(train_files),
        "sequences": len(xs), "characters": sum(len(x) for x in xs),
        "train_seconds": round(time.perf_counter() - started, 1),
        "model_bytes": out.stat().st_size,
    }
    sidecar_path(out).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return meta


def read_metadata(model_path: str | Path) -> dict[str, Any] | None:
    """The sidecar metadata of a model, or None when there is none."""
    path = sidecar_path(model_path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CrfError(f"{path}: unreadable model metadata: {err}") from err


class CrfBackend:
    """Tags normalised sentences with a CRF trained by `train_crf`."""

    name = "crf"

    def __init__(self, model_path: str | Path) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise CrfError(f"{path}: no CRF model file")
        meta = read_metadata(path)
        if meta is not None and meta.get("feature_version") != FEATURE_VERSION:
            raise CrfError(f"{path}: trained on feature version {meta.get('feature_version')}, this code "
                           f"computes version {FEATURE_VERSION}; retrain it")
        self.meta = meta
        self.tagger = pycrfsuite.Tagger()
        try:
            self.tagger.open(str(path))
        except (OSError, ValueError) as err:
            raise CrfError(f"{path}: not a CRFsuite model: {err}") from err

    def tag(self, sentences: list[str]) -> list[list[Span]]:
        results: list[list[Span]] = []
        for text in sentences:
            if not text:
                results.append([])
                continue
            tags = self.tagger.tag(char_features(text))
            # Marginal probability of the Viterbi tag: the span score is their mean, as for the model.
            scores = [self.tagger.marginal(tag, i) for i, tag in enumerate(tags)]
            offsets = [(i, i + 1) for i in range(len(text))]
            results.append(decode_bio(list(tags), scores, offsets, text))
        return results
