"""numbers.parse_value / numbers.to_base: VALUE and UNIT text → numbers in base units."""

from __future__ import annotations

import pytest

from govtargets.numbers import MAGNITUDES, UNIT_BASES, UNIT_WORDS, parse_value, to_base

PARSE_CASES: list[tuple[str, tuple[float, float | None]]] = [
    # Arabic, full-width, thousands separators, decimals
    ("7", (7.0, None)),
    ("6.8", (6.8, None)),
    ("0.5", (0.5, None)),
    ("８", (8.0, None)),
    ("２５３００", (25300.0, None)),
    ("１２．５", (12.5, None)),
    ("1,200", (1200.0, None)),
    ("1，200", (1200.0, None)),
    ("12,345.6", (12345.6, None)),
    (" 46.1 ", (46.1, None)),
    # Chinese numerals
    ("十一点八", (11.8, None)),
    ("两", (2.0, None)),
    ("一百二十", (120.0, None)),
    ("三千五百", (3500.0, None)),
    ("零点五", (0.5, None)),
    ("一万二千", (12000.0, None)),
    ("十", (10.0, None)),
    ("二十五点七五", (25.75, None)),
    ("兩萬", (20000.0, None)),
    ("壹佰", (100.0, None)),
    # magnitudes inside the value
    ("1.2万", (12000.0, None)),
    ("5万亿", (5e12, None)),
    ("1.1亿", (110000000.0, None)),
    ("一点二万", (12000.0, None)),
    ("1万2千", (12000.0, None)),
    # a bare magnitude (上千万 → VALUE 千)
    ("千", (1000.0, None)),
    ("百", (100.0, None)),
    ("万", (10000.0, None)),
    ("千万", (1e7, None)),
    # ranges
    ("3-5", (3.0, 5.0)),
    ("3～5", (3.0, 5.0)),
    ("3~5", (3.0, 5.0)),
    ("3－5", (3.0, 5.0)),
    ("4至5", (4.0, 5.0)),
    ("一至两", (1.0, 2.0)),
    ("八至九", (8.0, 9.0)),
    ("6%-6.5%", (6.0, 6.5)),
    ("1-1.5万", (10000.0, 15000.0)),
    ("三至五千", (3000.0, 5000.0)),
    ("一至两万", (10000.0, 20000.0)),
    ("十至二十", (10.0, 20.0)),
    ("5-3", (3.0, 5.0)),
    ("三四", (3.0, 4.0)),
    ("两三", (2.0, 3.0)),
    # halves, tenths, fractions, percent left inside the span
    ("半", (0.5, None)),
    ("一半", (0.5, None)),
    ("三成", (3.0, None)),
    ("三分之一", (1 / 3, None)),
    ("8%", (8.0, None)),
    ("百分之八", (8.0, None)),
    ("百分之八至九", (8.0, 9.0)),
    ("-3", (-3.0, None)),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parse_value(text: str, expected: tuple[float, float | None]) -> None:
    value, value_max = parse_value(text)
    assert value == pytest.approx(expected[0])
    if expected[1] is None:
        assert value_max is None
    else:
        assert value_max == pytest.approx(expected[1])


def test_parse_value_keeps_decimal_magnitudes_exact() -> None:
    # 1.1 × 1e8 in floats is 110000000.00000001; the record must say 110000000.
    assert parse_value("1.1亿") == (110000000.0, None)
    assert parse_value("0.3万") == (3000.0, None)


@pytest.mark.parametrize(
    "text",
    [
        "两位数",
        "xx",
        "XX",
        "x.x",
        "××",
        "",
        "  ",
        "数十",
        "几",
        "若干",
        "多",
        "6600多",
        "1,2",
        "3-5-7",
        "10%以上",
        "abc",
        "个",
        "零分之三",
    ],
)
def test_parse_value_rejects_what_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_value(text)


BASE_CASES: list[tuple[float | None, str | None, tuple[float | None, str | None]]] = [
    (175, "亿元", (1.75e10, "CNY")),
    (1.1, "亿元", (110000000.0, "CNY")),
    (3, "万元", (30000.0, "CNY")),
    (5, "万亿元", (5e12, "CNY")),
    (200, "元", (200.0, "CNY")),
    (1.1, "亿美元", (110000000.0, "USD")),
    (8500, "万美元", (85000000.0, "USD")),
    (20, "美元", (20.0, "USD")),
    (2, "万人", (20000.0, "person")),
    (300, "人", (300.0, "person")),
    (1000, "万人次", (1e7, "person_time")),
    (50, "人次", (50.0, "person_time")),
    (7, "%", (7.0, "percent")),
    (7, "％", (7.0, "percent")),
    (11.8, "百分之", (11.8, "percent")),
    (1.5, "个百分点", (1.5, "percentage_point")),
    (3, "‰", (3.0, "permille")),
    (3, "成", (30.0, "percent")),
    (1.68, "万亩", (16800.0, "mu")),
    (500, "亩", (500.0, "mu")),
    (100, "公里", (100.0, "km")),
    (2, "千米", (2.0, "km")),
    (4.2, "平方公里", (4.2, "km2")),
    (30, "万平方米", (300000.0, "m2")),
    (507, "万吨", (5070000.0, "t")),
    (10, "吨", (10.0, "t")),
    (50, "万千瓦", (500000.0, "kW")),
    (300, "千瓦", (300.0, "kW")),
    (25, "亿千瓦时", (2.5e9, "kWh")),
    (100, "千瓦时", (100.0, "kWh")),
    (8, "度", (8.0, "kWh")),
    (3000, "个", (3000.0, "个")),
    (2.3, "万户", (23000.0, "户")),
    (5, "万家", (50000.0, "家")),
    (6, "家", (6.0, "家")),
    (80, "项", (80.0, "项")),
    (2, "次", (2.0, "次")),
    (10, "场次", (10.0, "场次")),
    (2, "倍", (2.0, "times")),
    (79, "岁", (79.0, "year")),
    (3, "年", (3.0, "year")),
    (3, "个工作日", (3.0, "working_day")),
    (240, "小时", (240.0, "hour")),
    (6600, "万", (66000000.0, None)),
    (2, "萬噸", (20000.0, "t")),
    (None, "亿元", (None, "CNY")),
    (3, None, (3.0, None)),
    (None, None, (None, None)),
    # unknown units pass through unchanged
    (3, "套房", (3.0, "套房")),
    (3, "", (3.0, "")),
]


@pytest.mark.parametrize(("value", "unit", "expected"), BASE_CASES)
def test_to_base(value: float | None, unit: str | None, expected: tuple[float | None, str | None]) -> None:
    base_value, base_unit = to_base(value, unit)
    assert base_unit == expected[1]
    if expected[0] is None:
        assert base_value is None
    else:
        assert base_value == pytest.approx(expected[0])


def test_unit_words_are_the_lexicon_longest_first() -> None:
    assert set(UNIT_WORDS) == set(UNIT_BASES)
    lengths = [len(word) for word in UNIT_WORDS]
    assert lengths == sorted(lengths, reverse=True)
    for word in ("亿元", "万人", "%", "个百分点", "万亩", "亿美元", "万美元", "个", "万千瓦时", "平方公里"):
        assert word in UNIT_WORDS
    # A prefix never turns a real unit into a scaled one: 千米 is km and 千瓦 is kW, not 1000 米/瓦.
    assert UNIT_BASES["千米"] == (1.0, "km")
    assert UNIT_BASES["千瓦"] == (1.0, "kW")
    assert UNIT_WORDS.index("万千瓦时") < UNIT_WORDS.index("千瓦时") < UNIT_WORDS.index("万")


def test_magnitudes_are_single_and_compound_prefixes() -> None:
    assert MAGNITUDES["万"] == 10**4
    assert MAGNITUDES["亿"] == 10**8
    assert MAGNITUDES["万亿"] == 10**12


@pytest.mark.parametrize(
    ("text", "expected"),
    [("19·5", 19.5), ("１４·１", 14.1), ("1／4", 0.25), ("3/4", 0.75)],
)
def test_middle_dot_decimals_and_fractions(text: str, expected: float) -> None:
    assert parse_value(text) == (pytest.approx(expected), None)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("四亿零七百", "万吨", 40700.0),
        ("一亿一千四百", "万吨", 11400.0),
        ("七亿七千", "万吨", 77000.0),
        ("二十六亿六千万", "美元", 2.66e9),
        ("十", "亿", 10.0),
        ("5000", "万", 5000.0),
    ],
)
def test_numerals_read_in_the_units_magnitude(value: str, unit: str, expected: float) -> None:
    from govtargets.numbers import in_unit

    try:
        number, number_max = parse_value(value)
    except ValueError:
        number, number_max = None, None  # 七亿七千 alone is not a well-formed numeral
    assert in_unit(value, unit, number, number_max) == (pytest.approx(expected), None)
