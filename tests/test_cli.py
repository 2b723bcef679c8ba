"""The CLI contract: `extract` / `tag` outputs, formats, and bad input handled per file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from govtargets.cli import app
from govtargets.records import RECORD_FIELDS

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "seeds"
SEED_000 = SEEDS / "000_e2c1cea82aaead61.txt"
SEED_004 = SEEDS / "004_515bb48870d70d20.txt"

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def seed_records(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("extract") / "targets.jsonl"
    code, output = run("extract", str(SEEDS), "-o", str(out), "--backend", "rules", "--quiet")
    assert code == 0, output
    return read_jsonl(out)


def find(records: list[dict], doc: Path, **fields: object) -> list[dict]:
    return [r for r in records if r["doc"] == str(doc) and all(r[k] == v for k, v in fields.items())]


def test_extract_seed_000_gdp_target(seed_records: list[dict]) -> None:
    [gdp] = find(seed_records, SEED_000, indicator="地区生产总值", value=7.0)
    assert (gdp["kind"], gdp["unit"], gdp["comparator"], gdp["measure"], gdp["status"]) == (
        "target", "%", "~", "growth", "target")
    assert (gdp["region"], gdp["level"], gdp["year"]) == ("宿迁市宿城区", "区", 2023)
    assert tuple(gdp) == RECORD_FIELDS


def test_extract_seed_004_three_gdp_records(seed_records: list[dict]) -> None:
    gdp = find(seed_records, SEED_004, indicator="地区生产总值")
    assert [(r["value"], r["unit"], r["measure"], r["status"]) for r in gdp] == [
        (175.0, "亿元", "level", "target"), (17.0, "%", "growth", "target"), (177.0, "亿元", "level", "target")]
    assert gdp[0]["base_value"] == 175e8 and gdp[0]["base_unit"] == "CNY"


def test_extract_seed_000_projects(seed_records: list[dict]) -> None:
    projects = {(r["project"], r["action"]) for r in find(seed_records, SEED_000, kind="project")}
    assert {("激光装备设计中心", "竣工投用"), ("会展中心", "竣工投用"), ("乐凯新材料一期", "投产达效")} <= projects


def test_every_span_points_into_the_source(seed_records: list[dict]) -> None:
    sources = {str(p): p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    for record in seed_records:
        source = sources[record["doc"]]
        start = record["sentence_start"]
        assert source[start : start + 8] == record["sentence"][:8]
        for key in ("indicator", "unit", "project", "action"):
            if record[key] is not None:
                begin, end = record["spans"][key]
                assert source[begin:end] == record[key], (key, record)


def test_extract_csv_and_xlsx(tmp_path: Path) -> None:
    csv_out, xlsx_out = tmp_path / "t.csv", tmp_path / "t.xlsx"
    assert run("extract", str(SEED_004), "-o", str(csv_out), "-b", "rules", "-q")[0] == 0
    assert csv_out.read_text(encoding="utf-8-sig").splitlines()[0] == ",".join(RECORD_FIELDS)
    assert run("extract", str(SEED_004), "-o", str(xlsx_out), "-b", "rules", "-q")[0] == 0
    rows = list(load_workbook(xlsx_out).active.iter_rows(values_only=True))
    assert rows[0] == RECORD_FIELDS and len(rows) > 20


def test_tag_writes_sentences_with_entities(tmp_path: Path) -> None:
    out = tmp_path / "tags.jsonl"
    code, output = run("tag", str(SEED_000), "-o", str(out), "-b", "rules", "-q")
    assert code == 0, output
    rows = read_jsonl(out)
    assert set(rows[0]) == {"doc", "sentence", "sentence_start", "entities"}
    entities = [e for row in rows for e in row["entities"]]
    assert {e["label"] for e in entities} == {"INDICATOR", "VALUE", "UNIT", "PROJECT"}
    for row in rows:
        for entity in row["entities"]:
            assert row["sentence"][entity["start"] : entity["end"]] == entity["text"]


def test_bad_files_are_reported_and_the_rest_processed(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (inputs / "good.txt").write_text("今年地区生产总值增长6%左右。", encoding="utf-8")
    with (inputs / "huge.txt").open("wb") as handle:
        handle.truncate(51 * 1024 * 1024)  # sparse: the size check must refuse it before reading
    out = tmp_path / "t.jsonl"
    code, output = run("extract", str(inputs), str(tmp_path / "missing.txt"), "-o", str(out), "-b", "rules", "-q")
    assert code == 1
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 4, output
    for name in ("empty.txt", "binary.txt", "huge.txt", "missing.txt"):
        assert any(name in line for line in errors), (name, output)
    [record] = read_jsonl(out)
    assert (record["indicator"], record["value"], record["comparator"]) == ("地区生产总值", 6.0, "~")


def test_a_run_where_everything_fails_keeps_the_earlier_output(tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    out.write_text("earlier good output\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    code, output = run("extract", str(empty), "-o", str(out), "-b", "rules", "-q")
    assert code == 1 and "empty.txt" in output
    assert out.read_text(encoding="utf-8") == "earlier good output\n"


def test_unknown_backend_and_format(tmp_path: Path) -> None:
    code, output = run("extract", str(SEED_000), "-o", str(tmp_path / "t.jsonl"), "-b", "magic")
    assert code == 2 and "unknown backend" in output
    code, output = run("extract", str(SEED_000), "-o", str(tmp_path / "t.out"), "-f", "parquet")
    assert code == 2 and "unknown format" in output


def test_console_script_help() -> None:
    exe = Path(sys.executable).with_name("govtargets")
    result = subprocess.run([str(exe), "extract", "--help"], capture_output=True, text=True, check=True)
    assert "--backend" in result.stdout and "--format" in result.stdout
