import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from govtargets.outputs import OutputError, atomic_write, read_records, write_records
from govtargets.records import RECORD_FIELDS, Record


def sample_records() -> list[Record]:
    return [
        Record(doc="a.txt", kind="target", sentence="地区生产总值增长7%左右", sentence_start=10,
               indicator="地区生产总值", value=7.0, unit="%", comparator="~", measure="growth",
               status="target", base_value=7.0, base_unit="percent",
               spans={"indicator": [10, 16], "value": [18, 19], "unit": [19, 20]}, confidence=0.9,
               region="宿迁市宿城区", level="区", year=2023),
        Record(doc="a.txt", kind="project", sentence="推动华虹二期等项目尽快投产达效", sentence_start=40,
               project="华虹二期", action="投产达效", status="target", spans={"project": [42, 46]}),
    ]


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv"])
def test_write_then_read_round_trip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert write_records(sample_records(), path) == 2
    assert read_records(path) == sample_records()


def test_jsonl_keys_are_the_schema_in_order(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_records(sample_records(), path)
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert tuple(first) == RECORD_FIELDS
    assert first["sentence"] == "地区生产总值增长7%左右"


def test_xlsx_has_header_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_records(sample_records(), path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0] == RECORD_FIELDS
    assert rows[1][RECORD_FIELDS.index("indicator")] == "地区生产总值"
    assert json.loads(rows[1][RECORD_FIELDS.index("spans")]) == {"indicator": [10, 16], "value": [18, 19],
                                                               "unit": [19, 20]}


def test_failed_write_keeps_the_earlier_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("good earlier output\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_write(path) as out:
        out.write("half a line")
        raise RuntimeError("crash while writing")
    assert path.read_text(encoding="utf-8") == "good earlier output\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_unknown_format_and_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="unknown format"):
        write_records(sample_records(), tmp_path / "x.out", "parquet")
    with pytest.raises(OutputError, match="does not exist"):
        write_records(sample_records(), tmp_path / "missing" / "x.jsonl")


def test_reading_something_else_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text('{"text": "a report, not a record"}\n', encoding="utf-8")
    with pytest.raises(OutputError, match="not an extract record"):
        read_records(path)


def test_output_gets_ordinary_file_permissions(tmp_path: Path) -> None:
    import os

    path = tmp_path / "out.jsonl"
    write_records(sample_records(), path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
