"""The model backend: a BERT token classifier (BIO over INDICATOR/VALUE/UNIT/PROJECT) as a `Backend`.

Long sentences are cut into overlapping token windows and merged back (each token keeps the
prediction of the window where it sits farthest from an edge), so nothing is truncated at the
model's maximum length. Decoding follows the B-/I- tags and never joins spans across an O token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

from govtargets.records import LABELS, Span


class TaggingError(Exception):
    """The model could not be loaded or used."""


@dataclass
class _Window:
    sentence: int  # index into the batch of sentences
    first: int  # index of the window's first token in the sentence's token list
    ids: list[int]


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


class ModelBackend:
    """Tags normalised sentences with a fine-tuned token classifier loaded with `from_pretrained`."""

    name = "model"

    def __init__(
        self, model_dir: str | Path, *, threads: int | None = None, batch_size: int = 32,
        max_length: int = 256, stride: int = 64,
    ) -> None:
        path = Path(model_dir)
        # A local folder must be complete; anything else is passed on as a hub name (works online).
        if path.exists() and not (path / "config.json").is_file():
            raise TaggingError(f"{path}: not a model folder (no config.json)")
        if not path.exists() and (str(model_dir).startswith((".", "/")) or path.suffix):
            raise TaggingError(f"{path}: model folder does not exist")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
            self.model = AutoModelForTokenClassification.from_pretrained(str(model_dir))
        except (OSError, ValueError) as err:
            raise TaggingError(f"cannot load model {model_dir}: {err}") from err
        self.model.eval()
        if threads:
            torch.set_num_threads(threads)
        self.id2label = {int(i): label for i, label in self.model.config.id2label.items()}
        self.batch_size = batch_size
        limit = min(max_length, int(getattr(self.model.config, "max_position_embeddings", max_length)))
        self.window = limit - 2  # room for [CLS] and [SEP]
        self.stride = min(stride, self.window // 2)

    def _windows(self, index: int, ids: list[int]) -> list[_Window]:
        if len(ids) <= self.window:
            return [_Window(index, 0, ids)]
        windows = []
        step = self.window - self.stride
        first = 0
        while True:
            windows.append(_Window(index, first, ids[first : first + self.window]))
            if first + self.window >= len(ids):
                return windows
            first += step

    @torch.inference_mode()
    def _predict(self, windows: list[_Window]) -> list[torch.Tensor]:
        """Probabilities [tokens, labels] for every window, batched by similar length."""
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        pad = self.tokenizer.pad_token_id or 0
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids))
        probs: list[torch.Tensor | None] = [None] * len(windows)
        for begin in range(0, len(order), self.batch_size):
            chunk = order[begin : begin + self.batch_size]
            longest = max(len(windows[i].ids) for i in chunk) + 2
            input_ids = torch.full((len(chunk), longest), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), longest), dtype=torch.long)
            for row, i in enumerate(chunk):
                ids = [cls, *windows[i].ids, sep]
                input_ids[row, : len(ids)] = torch.tensor(ids)
                mask[row, : len(ids)] = 1
            logits = self.model(input_ids=input_ids, attention_mask=mask).logits
            batch_probs = logits.softmax(-1)
            for row, i in enumerate(chunk):
                probs[i] = batch_probs[row, 1 : 1 + len(windows[i].ids)]
        return [p for p in probs if p is not None]

    def tag(self, sentences: list[str]) -> list[list[Span]]:
        if not sentences:
            return []
        encoded = self.tokenizer(sentences, add_special_tokens=False, return_offsets_mapping=True)
        windows: list[_Window] = []
        for index, ids in enumerate(encoded["input_ids"]):
            windows.extend(self._windows(index, ids))
        predictions = self._predict(windows)
        # Merge windows: a token keeps the prediction from the window where it is farthest from an edge.
        best: list[list[tuple[int, torch.Tensor] | None]] = [[None] * len(ids) for ids in encoded["input_ids"]]
        for window, probs in zip(windows, predictions, strict=True):
            for k in range(len(window.ids)):
                margin = min(k, len(window.ids) - 1 - k)
                slot = best[window.sentence][window.first + k]
                if slot is None or margin > slot[0]:
                    best[window.sentence][window.first + k] = (margin, probs[k])
        results: list[list[Span]] = []
        for index, text in enumerate(sentences):
            offsets = [tuple(o) for o in encoded["offset_mapping"][index]]
            tags: list[str] = []
            scores: list[float] = []
            for slot in best[index]:
                assert slot is not None
                score, label_id = slot[1].max(-1)
                tags.append(self.id2label[int(label_id)])
                scores.append(float(score))
            results.append(decode_bio(tags, scores, offsets, text))
        return results
