import csv
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from govtargets.cli_review import track_command
from govtargets.documents import document_from_text, read_file
from govtargets.pipeline import extract_document, get_backend
from govtargets.records import Record
from govtargets.tracking import (
    TRACK_COLUMNS,
    TrackRow,
    is_annual,
    judge,
    normalize_indicator,
    normalize_region,
    track,
    unit_scale,
    untrackable,
)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "national_reports.jsonl"


def value_record(
    sentence: str,
    indicator: str,
    value_text: str,
    *,
    status: str,
    year: int,
    region: str | None = "某市",
    doc: str = "",
    unit: str | None = "%",
    comparator: str = "=",
    measure: str = "growth",
    value_max: float | None = None,
    start: int = 100,
) -> Record:
    """A grounded record whose value span points at `value_text` inside `sentence`."""
    at = sentence.index(value_text)
    value = float(value_text.split("-")[0])
    return Record(
        doc=doc or f"{region}-{year}.txt",
        kind="target",
        sentence=sentence,
        sentence_start=start,
        indicator=indicator,
        value=value,
        value_max=value_max,
        unit=unit,
        comparator=comparator,
        measure=measure,
        status=status,
        spans={"value": [start + at, start + at + len(value_text)]},
        region=region,
        year=year,
    )


def only(rows: list[TrackRow], indicator: str) -> TrackRow:
    matching = [row for row in rows if row.indicator == indicator]
    assert len(matching) == 1, rows
    return matching[0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("国内生产总值", "GDP"),
        ("地区生产总值", "GDP"),
        ("全市地区生产总值", "GDP"),
        ("生产总值", "GDP"),
        ("GDP", "GDP"),
        ("ＧＤＰ", "GDP"),
        ("经济增长", "GDP"),
        ("全年经济增速", "GDP"),
        ("规上工业增加值", "规模以上工业增加值"),
        ("全省规模以上工业增加值", "规模以上工业增加值"),
        ("人均地区生产总值", "人均GDP"),
        ("单位国内生产总值能耗", "单位国内生产总值能耗"),
        ("居民消费价格涨幅", "居民消费价格"),
        ("城镇新增就业", "城镇新增就业"),
        ("新增城镇就业", "城镇新增就业"),
    ],
)
def test_normalize_indicator(name: str, expected: str) -> None:
    assert normalize_indicator(name, "growth")[0] == expected


def test_change_suffix_turns_a_level_into_growth() -> None:
    assert normalize_indicator("地区生产总值增速", "level") == ("GDP", "growth")
    assert normalize_indicator("地区生产总值", "level") == ("GDP", "level")
    assert normalize_indicator("能耗", "decline") == ("能耗", "decline")


def test_unit_scale_and_region() -> None:
    assert unit_scale("亿元") == ("CNY", 1e8)
    assert unit_scale("万亿元") == ("CNY", 1e12)
    assert unit_scale("万人") == ("person", 1e4)
    assert unit_scale("％") == ("percent", 1.0)
    assert unit_scale("个百分点") == ("percentage_point", 1.0)
    assert unit_scale("万") == ("", 1e4)
    assert unit_scale("万套房") == ("套房", 1e4)
    assert unit_scale(None) == ("", 1.0)
    assert normalize_region(None, "national") == "全国"
    assert normalize_region("中华人民共和国") == "全国"
    assert normalize_region(" 宿迁市 ") == "宿迁市"
    assert normalize_region(None) is None


@pytest.mark.parametrize(
    ("comparator", "value", "value_max", "actual", "lower", "met"),
    [
        ("~", 6.5, None, 6.9, False, True),
        ("~", 6.5, None, 6.6, False, True),
        ("~", 6.5, None, 6.0, False, True),
        ("~", 6.5, None, 5.9, False, False),
        (">=", 6.0, None, 6.0, False, True),
        (">=", 6.0, None, 5.99, False, False),
        (">", 6.0, None, 6.0, False, False),
        ("<=", 3.0, None, 3.0, False, True),
        ("<=", 3.0, None, 3.1, False, False),
        ("<", 3.0, None, 2.9, False, True),
        ("=", 7.0, None, 6.9, False, False),
        ("=", 7.0, None, 7.0, False, True),
        (None, 6.0, 6.5, 6.1, False, True),
        (None, 6.0, 6.5, 5.9, False, False),
        ("~", 6.0, 6.5, 7.0, False, True),
        # Lower is better: "about 3%" and plain numbers are ceilings, a range's upper bound is the ceiling.
        ("~", 3.0, None, 2.0, True, True),
        ("~", 3.0, None, 3.5, True, True),
        ("~", 3.0, None, 3.6, True, False),
        ("=", 5.5, None, 5.6, True, False),
        (None, 2.0, 3.0, 2.9, True, True),
    ],
)
def test_judge(
    comparator: str | None, value: float, value_max: float | None, actual: float, lower: bool, met: bool
) -> None:
    assert judge(comparator, value, value_max, actual, tolerance=0.5, lower_better=lower) is met


def test_is_annual_drops_averages_part_years_and_other_years() -> None:
    sentence = "国内生产总值从54万亿元增加到82.7万亿元，年均增长7.1%，占世界经济比重提高"
    average = value_record(sentence, "国内生产总值", "7.1", status="actual", year=2018)
    assert not is_annual(average, 2017)
    plain = value_record(
        "国内生产总值增长6.9%，居民收入增长7.3%", "国内生产总值", "6.9", status="actual", year=2018
    )
    assert is_annual(plain, 2017)
    later = value_record("到2025年，地区生产总值增长6%以上", "地区生产总值", "6", status="target", year=2021)
    assert not is_annual(later, 2021)
    half = value_record("上半年地区生产总值增长5.1%", "地区生产总值", "5.1", status="actual", year=2023)
    assert not is_annual(half, 2022)


def test_met_missed_and_no_data() -> None:
    records = [
        value_record(
            "地区生产总值增长7%左右", "地区生产总值", "7", status="target", year=2021, comparator="~"
        ),
        value_record(
            "城镇调查失业率控制在5.5%以内",
            "城镇调查失业率",
            "5.5",
            status="target",
            year=2021,
            comparator="<=",
            measure="level",
        ),
        value_record("一般公共预算收入增长6%", "一般公共预算收入", "6", status="target", year=2021),
        # The 2022 report: a five-year average first (not a figure for 2021), then the year's growth.
        value_record("五年来，全市生产总值年均增长7.2%", "全市生产总值", "7.2", status="actual", year=2022),
        value_record(
            "全市生产总值增长6.6%，城镇调查失业率5.8%",
            "全市生产总值",
            "6.6",
            status="actual",
            year=2022,
            start=500,
        ),
        value_record(
            "全市生产总值增长6.6%，城镇调查失业率5.8%",
            "城镇调查失业率",
            "5.8",
            status="actual",
            year=2022,
            start=500,
            measure="level",
        ),
        # Another region's actual must not be used.
        value_record(
            "一般公共预算收入增长9%", "一般公共预算收入", "9", status="actual", year=2022, region="别市"
        ),
    ]
    rows = track(records)
    gdp = only(rows, "GDP")
    assert (gdp.target_value, gdp.actual_value, gdp.outcome) == (7.0, 6.6, "met")
    assert gdp.target_year == 2021 and gdp.actual_year == 2022
    assert gdp.actual_sentence == "全市生产总值增长6.6%，城镇调查失业率5.8%"
    assert gdp.target_doc == "某市-2021.txt" and gdp.actual_doc == "某市-2022.txt"
    unemployment = only(rows, "城镇调查失业率")
    assert (unemployment.actual_value, unemployment.outcome) == (5.8, "missed")
    revenue = only(rows, "一般公共预算收入")
    assert revenue.outcome == "no data" and revenue.actual_value is None and revenue.actual_doc is None
    assert all(row.region == "某市" for row in rows)


def test_measure_and_unit_family_must_agree() -> None:
    records = [
        value_record(
            "地区生产总值1000亿元左右",
            "地区生产总值",
            "1000",
            status="target",
            year=2021,
            unit="亿元",
            comparator="~",
            measure="level",
        ),
        value_record("地区生产总值增长8%", "地区生产总值", "8", status="actual", year=2022),
        value_record(
            "地区生产总值达到9950000万元",
            "地区生产总值",
            "9950000",
            status="actual",
            year=2022,
            unit="万元",
            measure="level",
            start=300,
        ),
        value_record(
            "研发投入强度提高0.3个百分点", "研发投入强度", "0.3", status="target", year=2021, unit="个百分点"
        ),
        value_record("研发投入强度提高0.5%", "研发投入强度", "0.5", status="actual", year=2022),
    ]
    rows = track(records)
    gdp = only(rows, "GDP")
    # 995亿元 against "1000亿元左右": within the 1% tolerance for amounts.
    assert (gdp.measure, gdp.actual_value, gdp.outcome) == ("level", 9950000.0, "met")
    assert only(rows, "研发投入强度").outcome == "no data"


def test_decline_targets_compare_magnitudes() -> None:
    records = [
        value_record(
            "单位地区生产总值能耗下降3%左右",
            "单位地区生产总值能耗",
            "3",
            status="target",
            year=2021,
            comparator="~",
            measure="decline",
        ),
        value_record(
            "单位地区生产总值能耗下降2.1%",
            "单位地区生产总值能耗",
            "2.1",
            status="actual",
            year=2022,
            measure="decline",
        ),
    ]
    assert only(track(records), "单位地区生产总值能耗").outcome == "missed"


def test_duplicate_targets_are_one_row_and_first_actual_wins() -> None:
    records = [
        value_record("生产总值增长6%以上", "生产总值", "6", status="target", year=2021, comparator=">="),
        value_record(
            "生产总值增长6%以上", "GDP", "6", status="target", year=2021, comparator=">=", start=900
        ),
        value_record("GDP增长6.2%", "GDP", "6.2", status="actual", year=2022, start=10),
        value_record("经济增长5%", "经济增长", "5", status="actual", year=2022, start=800),
    ]
    rows = track(records)
    assert len(rows) == 1
    assert (rows[0].actual_value, rows[0].outcome) == (6.2, "met")


def test_records_without_region_or_year_are_skipped() -> None:
    records = [
        value_record("地区生产总值增长7%", "地区生产总值", "7", status="target", year=2021, region=None),
        Record(
            doc="x",
            kind="target",
            sentence="增长7%",
            indicator="地区生产总值",
            value=7.0,
            unit="%",
            status="target",
            measure="growth",
            region="某市",
            year=None,
        ),
    ]
    assert track(records) == []


def test_row_columns_are_the_csv_columns() -> None:
    rows = track([value_record("地区生产总值增长7%", "地区生产总值", "7", status="target", year=2021)])
    assert tuple(rows[0].to_dict()) == TRACK_COLUMNS


def write_jsonl(path: Path, records: list[Record]) -> None:
    path.write_text("".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(track_command)
    return app


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_generic_indicators_are_not_tracked() -> None:
    records = [
        value_record("比重达到36.5%", "比重", "36.5", status="target", year=2021, measure="level"),
        value_record("比重为86%", "比重", "86", status="actual", year=2022, measure="level"),
    ]
    assert track(records) == []
    assert untrackable(records) == 1


def test_paragraph_about_five_years_is_not_last_years_actual() -> None:
    # The first report of a new term: five-year totals come before last year's figures.
    text = ("一、过去五年工作回顾\n五年来，经济实力跃上新台阶。城镇新增就业6600万人以上。\n"
            "刚刚过去的一年，主要目标任务全面完成。城镇新增就业1361万人。\n")
    doc = document_from_text(text, "r2018.txt", region="全国", year=2018)
    actuals = []
    for number in ("6600", "1361"):
        sentence = next(s for s in doc.sentences if number in s.text)
        start = doc.to_source(sentence.start, sentence.end)[0]
        actuals.append(value_record(sentence.text, "城镇新增就业", number, status="actual", year=2018,
                                    region="全国", doc=doc.path, unit="万人", measure="level", start=start))
    target = value_record("城镇新增就业1100万人以上", "城镇新增就业", "1100", status="target", year=2017,
                          region="全国", unit="万人", comparator=">=", measure="level")
    # Without the document only the sentences are known, and the five-year total comes first.
    assert track([target, *actuals])[0].actual_value == 6600
    row = track([target, *actuals], {doc.path: doc})[0]
    assert (row.actual_value, row.outcome, row.actual_sentence) == (1361, "met", "城镇新增就业1361万人。")


def test_track_command_writes_csv_from_records(tmp_path: Path) -> None:
    records = [
        value_record("地区生产总值增长7%左右", "地区生产总值", "7", status="target", year=2021,
                     comparator="~"),
        value_record("地区生产总值增长6.1%", "地区生产总值", "6.1", status="actual", year=2022),
    ]
    source = tmp_path / "targets.jsonl"
    write_jsonl(source, records)
    out = tmp_path / "tracking.csv"
    result = CliRunner().invoke(cli(), [str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert tuple(rows[0]) == TRACK_COLUMNS
    assert rows[0]["outcome"] == "missed" and rows[0]["actual_value"] == "6.1"
    assert "1 target(s): 0 met, 1 missed, 0 no data" in result.output


def test_track_command_fails_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "tracking.csv"
    out.write_text("earlier good output", encoding="utf-8")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"kind": "target", "not_a_field": 1}\n', encoding="utf-8")
    result = CliRunner().invoke(cli(), [str(broken), "-o", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith("error:") and result.output.count("\n") == 1
    assert out.read_text(encoding="utf-8") == "earlier good output"
    missing = CliRunner().invoke(cli(), [str(tmp_path / "nope.txt"), "-o", str(out)])
    assert missing.exit_code == 1
    assert out.read_text(encoding="utf-8") == "earlier good output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.jsonl", "tracking.csv"]


def national_reports(tmp_path: Path, years: set[int]) -> Path:
    """The corpus lines for `years`, as a .jsonl report file of their own."""
    path = tmp_path / "national.jsonl"
    with CORPUS.open(encoding="utf-8") as source, path.open("w", encoding="utf-8") as out:
        for line in source:
            if json.loads(line)["year"] in years:
                out.write(line)
    return path


def test_national_gdp_growth_2017_and_2018_targets_are_met(tmp_path: Path) -> None:
    """Through the command, from report files: extraction with the rule backend, then tracking."""
    out = tmp_path / "tracking.csv"
    reports = national_reports(tmp_path, {2017, 2018, 2019})
    result = CliRunner().invoke(cli(), [str(reports), "-o", str(out), "--backend", "rules"])
    assert result.exit_code == 0, result.output
    rows = {int(row["target_year"]): row for row in read_csv(out)
            if row["indicator"] == "GDP" and row["measure"] == "growth"}
    assert {2017, 2018} <= set(rows), rows
    for year, actual in ((2017, "6.9"), (2018, "6.6")):
        row = rows[year]
        assert (row["region"], row["target_value"], row["target_comparator"]) == ("全国", "6.5", "~")
        assert (row["actual_year"], row["actual_value"], row["outcome"]) == (str(year + 1), actual, "met")
        assert f"国内生产总值增长{actual}%" in row["actual_sentence"]
        assert "国内生产总值增长6.5%左右" in row["target_sentence"]
        assert row["target_doc"].startswith(str(reports)) and row["actual_doc"].startswith(str(reports))


def test_national_gdp_growth_2019_range_has_no_data(tmp_path: Path) -> None:
    """The 2019 target is a range (6%－6.5%); the corpus has no 2020 report to compare with."""
    backend = get_backend("rules")
    docs = read_file(national_reports(tmp_path, {2019, 2021}))
    records = [record for doc in docs for record in extract_document(doc, backend)]
    rows = [row for row in track(records, {doc.path: doc for doc in docs})
            if row.indicator == "GDP" and row.measure == "growth" and row.target_year == 2019]
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row.target_value, row.target_value_max, row.target_comparator) == (6.0, 6.5, "=")
    assert (row.outcome, row.actual_value, row.actual_doc) == ("no data", None, None)
