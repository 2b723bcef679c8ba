"""CPU speed and size of candidate Chinese BERT sizes, to choose the pretraining configuration.

For each size it measures
- training throughput: forward + backward + AdamW step of BertForMaskedLM (labels on 15% of the
  positions, as the MLM collator produces), in tokens/s at batch x max_seq_length;
- inference throughput: BertModel forward only at batch 32 x 128, in sentences/s (what the tagger does);
- parameter counts and fp32/fp16 sizes of the MLM checkpoint and of a token classifier built on it
  (the shipped fine-tuned model must stay <= 30 MB).

Inputs are random token ids: speed does not depend on the text. Other engineers share the machine,
so numbers are medians over a few steps.

    .venv/bin/python benchmarks/pretrain_speed.py --threads 2 --output benchmarks/results/pretrain_speed.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import BertConfig, BertForMaskedLM, BertModel

# (name, layers, hidden, heads, intermediate)
CANDIDATES: tuple[tuple[str, int, int, int, int], ...] = (
    ("4L-256H", 4, 256, 4, 1024),
    ("6L-256H", 6, 256, 4, 1024),
    ("4L-384H", 4, 384, 6, 1536),
    ("6L-384H", 6, 384, 6, 1536),
)
# One label per BIO tag of INDICATOR, VALUE, UNIT, PROJECT.
NUM_TAGGER_LABELS = 9
MB = 1024 * 1024


@dataclass
class Result:
    name: str
    params_mlm: int
    params_tagger: int
    tagger_fp32_mb: float
    tagger_fp16_mb: float
    train_tokens_per_s: float
    train_step_s: float
    infer_sentences_per_s: float


def timed(step: Callable[[], None], repeats: int) -> float:
    """Median wall time of `step` after one warm-up call."""
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name: str, layers: int, hidden: int, heads: int, intermediate: int,
            args: argparse.Namespace) -> Result:
    config = BertConfig(vocab_size=args.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=intermediate,
                        max_position_embeddings=512)
    generator = torch.Generator().manual_seed(0)

    model = BertForMaskedLM(config)
    params_mlm = sum(p.numel() for p in model.parameters())
    # The tagger is the encoder without pooler plus a linear layer over the labels.
    params_tagger = (sum(p.numel() for p in model.bert.parameters())
                     + hidden * NUM_TAGGER_LABELS + NUM_TAGGER_LABELS)

    input_ids = torch.randint(5, args.vocab_size, (args.train_batch, args.train_seq_len), generator=generator)
    labels = input_ids.clone()
    labels[torch.rand(labels.shape, generator=generator) > 0.15] = -100
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()

    def train_step() -> None:
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    train_step_s = timed(train_step, args.train_repeats)

    encoder = BertModel(config, add_pooling_layer=False).eval()
    batch = torch.randint(5, args.vocab_size, (32, 128), generator=generator)

    def infer_step() -> None:
        with torch.inference_mode():
            encoder(input_ids=batch)

    infer_step_s = timed(infer_step, args.infer_repeats)
    return Result(
        name=name,
        params_mlm=params_mlm,
        params_tagger=params_tagger,
        tagger_fp32_mb=round(params_tagger * 4 / MB, 1),
        tagger_fp16_mb=round(params_tagger * 2 / MB, 1),
        train_tokens_per_s=round(args.train_batch * args.train_seq_len / train_step_s),
        train_step_s=round(train_step_s, 2),
        infer_sentences_per_s=round(32 / infer_step_s, 1),
    )


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    # Matches the vocabulary training/vocab.py builds from the corpus (min_freq 2).
    parser.add_argument("--vocab_size", type=int, default=4280)
    parser.add_argument("--train_batch", type=int, default=32)
    parser.add_argument("--train_seq_len", type=int, default=128)
    parser.add_argument("--train_repeats", type=int, default=3)
    parser.add_argument("--infer_repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="candidate names to run, e.g. 4L-256H")
    parser.add_argument("--output", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = []
    for name, *size in CANDIDATES:
        if args.only and name not in args.only:
            continue
        results.append(measure(name, *size, args=args))
        print(f"measured {name}", flush=True)

    header = (f"{'size':<9}{'params MLM':>12}{'params tagger':>15}{'tagger fp32 MB':>16}{'fp16 MB':>9}"
              f"{'train tok/s':>13}{'step s':>8}{'infer sent/s':>14}")
    print(f"\nthreads={args.threads} train batch={args.train_batch}x{args.train_seq_len} "
          f"infer batch=32x128 vocab={args.vocab_size}")
    print(header)
    for r in results:
        print(f"{r.name:<9}{r.params_mlm:>12,}{r.params_tagger:>15,}{r.tagger_fp32_mb:>16}{r.tagger_fp16_mb:>9}"
              f"{r.train_tokens_per_s:>13,}{r.train_step_s:>8}{r.infer_sentences_per_s:>14}")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        payload = {"threads": args.threads, "train_batch": args.train_batch,
                   "train_seq_len": args.train_seq_len, "vocab_size": args.vocab_size,
                   "torch": torch.__version__, "results": [asdict(r) for r in results]}
        args.output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
