"""ONNX export and runtimes: a tiny model trained in seconds (as in test_train_ner), exported once through
the CLI, then tagged by torch, ONNX fp32 and ONNX int8 through the same windowing and decoding."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from govtargets.cli import app
from govtargets.records import Span
from govtargets.tagging import (
    GRAPH_KEY,
    GRAPH_VERSION,
    WEIGHTS_KEY,
    ModelBackend,
    TaggingError,
    export_onnx,
    weights_digest,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

import pretrain_mlm  # noqa: E402
import train_ner  # noqa: E402

SEED = ROOT / "data" / "seeds" / "004_515bb48870d70d20.txt"
LONG = ("全年地区生产总值增长6.5%左右，一般公共预算收入增长5%，固定资产投资增长8%，社会消费品零售总额增长7%，"
        "城镇新增就业1.2万人，城镇调查失业率控制在5.5%以内，居民人均可支配收入增长与经济增长基本同步，"
        "单位地区生产总值能耗下降3%，完成省下达的节能减排任务，实施重点项目120个，完成投资350亿元。")
SENTENCES = ["地区生产总值预期175亿元，增长17%，力争177亿元", "推动华虹二期等项目尽快投产达效", "", "7", LONG]

runner = CliRunner()


def tiny_model(root: Path, *options: str) -> Path:
    """A tiny token classifier: a few training steps, since parity needs a model, not a good one."""
    base, model = root / "base", root / "model"
    pretrain_mlm.main([str(ROOT / "training" / "configs" / "pretrain_tiny.yaml"), "--output_dir", str(base),
                       "--max_steps", "4"])
    train_ner.main([str(ROOT / "training" / "configs" / "ner_tiny.yaml"), "--base_model", str(base),
                    "--output_dir", str(model), "--num_train_epochs", "12", "--eval_strategy", "no",
                    "--save_strategy", "no", "--load_best_model_at_end", "false", *options])
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A tiny token classifier (a few training steps: parity needs a model, not a good one), exported by
    `govtargets export-onnx` into its own onnx/ folder; returns the folder and the command's output."""
    model = tiny_model(tmp_path_factory.mktemp("onnx"))
    result = runner.invoke(app, ["export-onnx", "--model", str(model)])
    assert result.exit_code == 0, result.output
    return model, result.output


def plain(spans: list[list[Span]]) -> list[list[tuple[str, int, int, str]]]:
    return [[(s.label, s.start, s.end, s.text) for s in sentence] for sentence in spans]


def window_probs(backend: ModelBackend, sentences: list[str]) -> list[np.ndarray]:
    """Per-window probabilities, through the same tokenisation and windows as `tag`."""
    _, windows, _ = backend._encode(sentences)
    assert len(windows) > len(sentences)  # the long sentence is cut into several windows
    return backend._predict(windows)


def test_export_writes_fp32_and_int8_next_to_the_model(exported: tuple[Path, str]) -> None:
    model, output = exported
    assert sorted(p.name for p in (model / "onnx").iterdir()) == ["model.int8.onnx", "model.onnx"]
    assert not [p for p in model.iterdir() if p.name.startswith(".")]  # no temporary folder left behind
    assert "model.onnx" in output and "model.int8.onnx" in output
    for name in ("model.onnx", "model.int8.onnx"):
        graph = onnx.load(str(model / "onnx" / name))
        inputs = {i.name: [d.dim_param for d in i.type.tensor_type.shape.dim] for i in graph.graph.input}
        assert set(inputs) == {"input_ids", "attention_mask"}
        assert all(all(inputs[name]) for name in inputs)  # batch and sequence axes are symbolic
        metadata = {p.key: p.value for p in graph.metadata_props}
        assert metadata[WEIGHTS_KEY] == weights_digest(model) and metadata[GRAPH_KEY] == GRAPH_VERSION
    assert (model / "onnx" / "model.int8.onnx").stat().st_size < (model / "onnx" / "model.onnx").stat().st_size


def test_int8_quantises_the_matmuls_but_not_the_convolutions(exported: tuple[Path, str]) -> None:
    # ConvInteger is slower than the fp32 Conv in ONNX Runtime on CPU (it made int8 slower than fp32).
    model, _ = exported
    ops = {node.op_type for node in onnx.load(str(model / "onnx" / "model.int8.onnx")).graph.node}
    assert "MatMulInteger" in ops and "Conv" in ops
    assert "ConvInteger" not in ops


def test_onnx_fp32_probabilities_and_spans_match_torch(exported: tuple[Path, str]) -> None:
    model, _ = exported
    torch_backend, onnx_backend = ModelBackend(model), ModelBackend(model, runtime="onnx", threads=1)
    assert onnx_backend.name == "model (onnx)"
    expected, got = window_probs(torch_backend, SENTENCES), window_probs(onnx_backend, SENTENCES)
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_allclose(have, want, atol=1e-4, rtol=0)
    torch_spans, onnx_spans = torch_backend.tag(SENTENCES), onnx_backend.tag(SENTENCES)
    assert plain(onnx_spans) == plain(torch_spans)
    assert any(torch_spans)  # the comparison is not vacuous
    for want_sentence, have_sentence in zip(torch_spans, onnx_spans, strict=True):
        for want_span, have_span in zip(want_sentence, have_sentence, strict=True):
            assert have_span.score == pytest.approx(want_span.score, abs=1e-4)


def test_onnx_int8_returns_valid_spans(exported: tuple[Path, str]) -> None:
    model, _ = exported
    backend = ModelBackend(model, runtime="onnx-int8", threads=1)
    tagged = backend.tag(SENTENCES)
    assert len(tagged) == len(SENTENCES) and tagged[2] == []
    for sentence, spans in zip(SENTENCES, tagged, strict=True):
        for span in spans:
            assert span.text == sentence[span.start : span.end] and 0 < span.score <= 1
    assert backend.tag([]) == []
    # Batches run side by side on one session give the same spans as one at a time.
    side_by_side = ModelBackend(model, runtime="onnx-int8", threads=2, batch_size=1)
    assert plain(side_by_side.tag(SENTENCES)) == plain(tagged)


def test_cli_extract_and_tag_with_onnx_runtimes(exported: tuple[Path, str], tmp_path: Path) -> None:
    model, _ = exported
    records: dict[str, list[dict]] = {}
    for runtime in ("torch", "onnx"):
        out = tmp_path / f"{runtime}.jsonl"
        result = runner.invoke(app, ["extract", str(SEED), "-o", str(out), "--model", str(model),
                                     "--runtime", runtime, "--quiet"])
        assert result.exit_code == 0, result.output
        records[runtime] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records["onnx"]
    strip = [{k: v for k, v in r.items() if k != "confidence"} for r in records["onnx"]]
    assert strip == [{k: v for k, v in r.items() if k != "confidence"} for r in records["torch"]]

    out = tmp_path / "tagged.jsonl"
    result = runner.invoke(app, ["tag", str(SEED), "-o", str(out), "--model", str(model), "--runtime", "onnx-int8",
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    for row in map(json.loads, out.read_text(encoding="utf-8").splitlines()):
        for entity in row["entities"]:
            assert row["sentence"][entity["start"] : entity["end"]] == entity["text"]


def copy_model(model: Path, to: Path, *, onnx_files: tuple[str, ...]) -> Path:
    to.mkdir()
    for path in model.iterdir():
        if path.is_file():
            shutil.copy2(path, to / path.name)
    if onnx_files:
        (to / "onnx").mkdir()
        for name in onnx_files:
            shutil.copy2(model / "onnx" / name, to / "onnx" / name)
    return to


def test_missing_onnx_file_is_a_clear_usage_error(exported: tuple[Path, str], tmp_path: Path) -> None:
    model, _ = exported
    bare = copy_model(model, tmp_path / "bare", onnx_files=())
    fp32_only = copy_model(model, tmp_path / "fp32", onnx_files=("model.onnx",))
    for folder, runtime in ((bare, "onnx"), (bare, "onnx-int8"), (fp32_only, "onnx-int8")):
        result = runner.invoke(app, ["extract", str(SEED), "-o", str(tmp_path / "out.jsonl"), "--model", str(folder),
                                     "--runtime", runtime])
        assert result.exit_code == 2, result.output
        assert "run `govtargets export-onnx" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.jsonl").exists()
    ModelBackend(fp32_only, runtime="onnx")  # the fp32 file alone is enough for its runtime
    result = runner.invoke(app, ["tag", str(SEED), "-o", str(tmp_path / "t.jsonl"), "--model", str(model),
                                 "--runtime", "tensorrt"])
    assert result.exit_code == 2 and "unknown runtime 'tensorrt'" in result.output


def test_export_older_than_the_weights_is_refused(exported: tuple[Path, str], tmp_path: Path) -> None:
    model, _ = exported
    retrained = copy_model(model, tmp_path / "retrained", onnx_files=("model.onnx",))
    (retrained / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(TaggingError, match="exported from other weights"):
        ModelBackend(retrained, runtime="onnx")


def test_export_made_by_an_older_govtargets_is_refused(exported: tuple[Path, str], tmp_path: Path) -> None:
    # Exports made before the convolutions read padding as zeros carry no graph version.
    model, _ = exported
    older = copy_model(model, tmp_path / "older", onnx_files=("model.onnx",))
    graph = onnx.load(str(older / "onnx" / "model.onnx"))
    kept = [p for p in graph.metadata_props if p.key != GRAPH_KEY]
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    onnx.save(graph, str(older / "onnx" / "model.onnx"))
    with pytest.raises(TaggingError, match="exported by an older govtargets"):
        ModelBackend(older, runtime="onnx")


def test_export_refuses_to_replace_a_folder_that_is_not_an_export(exported: tuple[Path, str], tmp_path: Path) -> None:
    model, _ = exported
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(TaggingError, match="other files than an ONNX export"):
        export_onnx(model, tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"
    result = runner.invoke(app, ["export-onnx", "--model", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "not a model folder" in result.output


def test_a_new_export_replaces_the_old_one_whole(exported: tuple[Path, str], tmp_path: Path) -> None:
    model, _ = exported
    again = copy_model(model, tmp_path / "again", onnx_files=("model.onnx", "model.int8.onnx"))
    result = runner.invoke(app, ["export-onnx", "--model", str(again), "--no-quantize", "--quiet"])
    assert result.exit_code == 0 and result.output == ""
    # No int8 file of the earlier export survives next to the new fp32 one, and no temporary folder stays.
    assert [p.name for p in (again / "onnx").iterdir()] == ["model.onnx"]
    assert not [p for p in again.iterdir() if p.name.startswith(".")]
    ModelBackend(again, runtime="onnx")


@pytest.fixture(scope="module")
def exported_with_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained with rule features (token type ids = the rule backend's tags), exported."""
    model = tiny_model(tmp_path_factory.mktemp("onnx-rules"), "--rule_features", "true")
    export_onnx(model)
    return model


def test_a_model_with_rule_features_exports_and_runs_with_its_rule_tags(exported_with_rules: Path) -> None:
    model = exported_with_rules
    for name in ("model.onnx", "model.int8.onnx"):
        graph = onnx.load(str(model / "onnx" / name))
        assert {i.name for i in graph.graph.input} == {"input_ids", "attention_mask", "token_type_ids"}
    torch_backend, onnx_backend = ModelBackend(model), ModelBackend(model, runtime="onnx", threads=1)
    expected, got = window_probs(torch_backend, SENTENCES), window_probs(onnx_backend, SENTENCES)
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_allclose(have, want, atol=1e-4, rtol=0)
    torch_spans = torch_backend.tag(SENTENCES)
    assert any(torch_spans) and plain(onnx_backend.tag(SENTENCES)) == plain(torch_spans)
    int8 = ModelBackend(model, runtime="onnx-int8", threads=1).tag(SENTENCES)
    for sentence, spans in zip(SENTENCES, int8, strict=True):
        for span in spans:
            assert span.text == sentence[span.start : span.end]
