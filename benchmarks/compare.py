"""The comparison table: every backend on the gold test split (and dev), scored the same way.

Backends: the rule backend, a CRF baseline trained on the train split (govtargets.crf; trained here
when its model is missing or was trained on other files or features), the shipped model through
torch, and the shipped model through the int8 ONNX runtime when that runtime exists. A backend that
cannot be created (no model yet, runtime not available) is listed as missing with the reason.

Scores are govtargets.evaluation's: entity P/R/F1 per label (seqeval strict IOB2 over characters,
sentence by sentence as the pipeline runs) and target P/R/F1 at three levels.

    .venv/bin/python benchmarks/compare.py
    .venv/bin/python benchmarks/compare.py --model /tmp/benchdev/model --splits test

Writes benchmarks/results/comparison.json and comparison.md (the markdown table, headed by the
command that produced it) and prints evaluation.format_table for each split.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import transformers
import yaml

from govtargets import crf, evaluation
from govtargets.outputs import atomic_write
from govtargets.pipeline import DEFAULT_MODEL_DIR, BackendError, get_backend
from govtargets.records import LABELS, Backend

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# CRF hyper-parameters, chosen on the dev split (entity micro F1, 200 iterations): c1/c2 0.05/0.05
# 0.860, 0.1/0.1 0.861, 0.01/0.2 0.861, 0.5/0.01 0.865, 0.2/0.01 0.870, 0.3/0.001 0.873.
CRF_C1 = 0.3
CRF_C2 = 0.001
CRF_MAX_ITERATIONS = 200


def resolve(path: str | Path) -> Path:
    """Relative paths are taken from the working directory when they exist there, else the repository."""
    path = Path(path)
    return path if path.is_absolute() or path.exists() else ROOT / path


def split_files(splits_file: Path, annotations_dir: Path) -> dict[str, list[Path]]:
    splits = yaml.safe_load(splits_file.read_text(encoding="utf-8")) or {}
    files = {name: [annotations_dir / f"{stem}.json" for stem in splits.get(name) or []]
             for name in ("train", "dev", "test")}
    for name, paths in files.items():
        for path in paths:
            if not path.is_file():
                raise SystemExit(f"error: {path}: listed in the {name} split of {splits_file} but missing")
    return files


def crf_is_current(model_path: Path, train_files: list[Path]) -> tuple[bool, str]:
    """Whether the CRF at `model_path` was trained by this code on exactly these files."""
    if not model_path.is_file():
        return False, "no model file"
    try:
        meta = crf.read_metadata(model_path)
    except crf.CrfError as err:
        return False, str(err)
    if meta is None:
        return False, "no metadata sidecar"
    if meta.get("feature_version") != crf.FEATURE_VERSION:
        return False, f"feature version {meta.get('feature_version')} != {crf.FEATURE_VERSION}"
    if meta.get("train_digest") != crf.files_digest(train_files):
        return False, "the training files changed"
    if (meta.get("c1"), meta.get("c2"), meta.get("max_iterations")) != (CRF_C1, CRF_C2, CRF_MAX_ITERATIONS):
        return False, "other hyper-parameters"
    return True, "current"


def ensure_crf(model_path: Path, train_files: list[Path], retrain: bool) -> dict[str, Any]:
    current, reason = crf_is_current(model_path, train_files)
    if current and not retrain:
        print(f"CRF: using {model_path}", file=sys.stderr)
        return crf.read_metadata(model_path) or {}
    print(f"CRF: training on {len(train_files)} files ({'--retrain-crf' if retrain else reason}) → {model_path}",
          file=sys.stderr, flush=True)
    return crf.train_crf(train_files, model_path, c1=CRF_C1, c2=CRF_C2, max_iterations=CRF_MAX_ITERATIONS)


def make_backends(args: argparse.Namespace, crf_path: Path) -> tuple[list[tuple[str, Backend]], dict[str, str]]:
    """(display name, backend) for every backend that can be created, and why the others cannot."""
    backends: list[tuple[str, Backend]] = [("rules", get_backend("rules")), ("crf", crf.CrfBackend(crf_path))]
    missing: dict[str, str] = {}
    try:
        backends.append(("model (torch)", get_backend("model", args.model, threads=args.threads)))
    except BackendError as err:
        missing["model (torch)"] = str(err)
    try:
        # The `runtime` keyword arrives with the ONNX runtime; until then get_backend rejects it.
        onnx = get_backend("model", args.model, threads=args.threads, runtime="onnx-int8")
        backends.append(("model (onnx-int8)", onnx))
    except (TypeError, BackendError, ImportError) as err:
        missing["model (onnx-int8)"] = f"{type(err).__name__}: {err}"
    return backends, missing


def markdown(report: dict[str, Any]) -> str:
    lines = [f"`{report['command']}`", "",
             f"Generated {report['created']}. Cells: precision / recall / **F1**. Entities: seqeval strict IOB2 "
             "over characters; targets: linked records at three levels (govtargets.evaluation).", ""]
    for split, block in report["splits"].items():
        results = block["results"]
        lines.append(f"## {split} ({block['sentences']} sentences; {', '.join(block['documents'])})")
        lines.append("")
        lines.append("| | " + " | ".join(r["name"] for r in results) + " |")
        lines.append("|---|" + "---|" * len(results))
        rows = [("entities", label) for label in (*LABELS, "all")]
        rows += [("targets", level) for level in evaluation.TARGET_LEVELS]
        for group, key in rows:
            cells = [f"{r[group][key]['precision']:.3f} / {r[group][key]['recall']:.3f} / "
                     f"**{r[group][key]['f1']:.3f}**" for r in results]
            lines.append(f"| {group} {key} | " + " | ".join(cells) + " |")
        lines.append("")
    if report["missing"]:
        lines.append("Not measured:")
        lines.extend(f"- {name}: {reason}" for name, reason in report["missing"].items())
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", nargs="+", default=["test", "dev"], choices=["test", "dev", "train"])
    parser.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model folder (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--crf-model", default=str(RESULTS / "crf.model"))
    parser.add_argument("--retrain-crf", action="store_true", help="train the CRF even if it is current")
    parser.add_argument("--annotations", default="annotations/gold")
    parser.add_argument("--splits-file", default="annotations/splits.yaml")
    parser.add_argument("--output-dir", default=str(RESULTS))
    args = parser.parse_args(argv)
    transformers.utils.logging.disable_progress_bar()  # keeps the printed tables readable

    files = split_files(resolve(args.splits_file), resolve(args.annotations))
    crf_path = resolve(args.crf_model)
    crf_meta = ensure_crf(crf_path, files["train"], args.retrain_crf)
    backends, missing = make_backends(args, crf_path)

    report: dict[str, Any] = {
        "command": shlex.join([".venv/bin/python", "benchmarks/compare.py", *argv]),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": args.model,
        "threads": args.threads,
        "crf": crf_meta,
        "missing": missing,
        "splits": {},
    }
    for split in args.splits:
        if not files[split]:
            print(f"({split} split is empty: skipped)", file=sys.stderr)
            continue
        gold = evaluation.load_gold(files[split])
        results = []
        for name, backend in backends:
            started = time.perf_counter()
            result = evaluation.evaluate(gold, backend)
            result["name"] = name
            result["seconds"] = round(time.perf_counter() - started, 2)
            results.append(result)
        report["splits"][split] = {"documents": [p.stem for p in files[split]], "sentences": len(gold),
                                   "results": results}
        print(f"\n{split} ({len(gold)} sentences)")
        print(evaluation.format_table(results))
    for name, reason in missing.items():
        print(f"missing: {name}: {reason}")

    out = resolve(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    evaluation.write_json(report, out / "comparison.json")
    with atomic_write(out / "comparison.md") as handle:
        handle.write(markdown(report))
    print(f"wrote {out / 'comparison.json'} and {out / 'comparison.md'}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
