"""Smoke tests of benchmarks/compare.py and benchmarks/throughput.py on a tiny untrained model, so the
scripts keep working; the numbers themselves mean nothing here."""

import json
import sys
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForTokenClassification

from govtargets.data import BIO_TAGS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "training"))

import compare  # noqa: E402
import throughput  # noqa: E402
from vocab import build_tokenizer, build_vocab, save_tokenizer  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "ner"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised one-layer character BERT token classifier with our tokenizer."""
    out = tmp_path_factory.mktemp("tiny-model")
    text = (ROOT / "data" / "corpus" / "national_reports.jsonl").read_text(encoding="utf-8")[:200_000]
    tokenizer = build_tokenizer(build_vocab([text], min_freq=1), model_max_length=64)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, pad_token_id=tokenizer.pad_token_id,
                        num_labels=len(BIO_TAGS), id2label=dict(enumerate(BIO_TAGS)),
                        label2id={tag: i for i, tag in enumerate(BIO_TAGS)})
    BertForTokenClassification(config).save_pretrained(str(out))
    save_tokenizer(tokenizer, out)
    return out


def test_compare_writes_the_table_and_reuses_its_crf(tiny_model: Path, tmp_path: Path) -> None:
    argv = ["--model", str(tiny_model), "--annotations", str(FIXTURE / "gold"),
            "--splits-file", str(FIXTURE / "splits.yaml"), "--crf-model", str(tmp_path / "crf.model"),
            "--output-dir", str(tmp_path), "--threads", "1"]
    report = compare.main(argv)
    assert set(report["splits"]) == {"test", "dev"}
    names = [r["name"] for r in report["splits"]["test"]["results"]]
    assert names[:3] == ["rules", "crf", "model (torch)"]
    assert "model (onnx-int8)" in names or "model (onnx-int8)" in report["missing"]
    saved = json.loads((tmp_path / "comparison.json").read_text(encoding="utf-8"))
    assert saved["command"].startswith(".venv/bin/python benchmarks/compare.py --model")
    for result in saved["splits"]["dev"]["results"]:
        assert set(result["entities"]) == {"INDICATOR", "VALUE", "UNIT", "PROJECT", "all"}
        assert set(result["targets"]) == {"value_unit", "linked", "with_status"}
    md = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    assert md.startswith("`.venv/bin/python benchmarks/compare.py")
    assert "| entities VALUE |" in md and "| targets with_status |" in md and "## test" in md

    # A current CRF is reused, not retrained.
    stamp = (tmp_path / "crf.model").stat().st_mtime_ns
    compare.main([*argv, "--splits", "test"])
    assert (tmp_path / "crf.model").stat().st_mtime_ns == stamp


def test_throughput_runs_on_one_report(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    report = throughput.main(["--model", str(tiny_model), "--limit-reports", "1", "--sample", "20", "--repeats", "2",
                              "--threads", "1", "--output", str(out), "--comparison", str(tmp_path / "none.json")])
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["results"] == json.loads(json.dumps(report["results"]))
    results = saved["results"]
    e2e = results["end_to_end"]
    assert e2e["reports"] == 1 and e2e["sentences"] > 20 and e2e["chars_per_s"] > 0 and e2e["peak_rss_mb"] > 0
    assert results["forward_only"]["batches"] > 0 and results["forward_only"]["tokens"] > 0
    assert results["hf_pipeline_sample"]["sentences"] == 20 == saved["sample"]
    assert results["overhead"] > -1 and results["vs_hf_pipeline"] > 0 and results["forward_vs_hf_pipeline"] > 0
    # Two rounds: every time and every ratio is kept, and the reported ratio is their median.
    assert results["repeats"] == 2
    assert len(e2e["runs_seconds"]) == len(results["forward_only"]["runs_seconds"]) == 2
    assert e2e["seconds"] in e2e["runs_seconds"]
    for key in ("overhead", "overhead_vs_replay", "vs_hf_pipeline", "forward_vs_hf_pipeline"):
        assert len(results[f"{key}_runs"]) == 2
        assert min(results[f"{key}_runs"]) <= results[key] <= max(results[f"{key}_runs"])
    for runtime in ("onnx", "onnx-int8"):
        assert runtime in results["onnx"] or runtime in results["missing"]
    assert "int8_f1_loss_points" not in results
