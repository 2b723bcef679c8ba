"""linking.link: spans of one sentence → target and project records (annotations/GUIDE.md §1, §1b, §2, §3)."""

from __future__ import annotations

import random

import pytest
from opencc import OpenCC

from govtargets.linking import link
from govtargets.records import Record, Span

IND, V, U, P = "INDICATOR", "VALUE", "UNIT", "PROJECT"


Item = tuple[str, str] | tuple[str, str, float]


def tag(sentence: str, *items: Item) -> list[Span]:
    """Spans from (label, text[, score]) items listed in sentence order; each text is found after the last."""
    spans: list[Span] = []
    pos = 0
    for item in items:
        label, text = item[0], item[1]
        score = float(item[2]) if len(item) == 3 else 1.0
        start = sentence.index(text, pos)
        spans.append(Span(label, start, start + len(text), text, score))
        pos = start + len(text)
    return spans


def row(record: Record) -> tuple[object, ...]:
    if record.kind == "project":
        return (record.project, record.action, record.status)
    return (
        record.indicator,
        record.value,
        record.value_max,
        record.unit,
        record.comparator,
        record.measure,
        record.status,
    )


def cues(sentence: str, record: Record) -> dict[str, str]:
    """The text behind every span of the record; text fields must equal their span's text."""
    assert record.sentence == sentence
    texts = {key: sentence[start:end] for key, (start, end) in record.spans.items()}
    for key in ("indicator", "unit", "project", "action"):
        if key in texts:
            assert texts[key] == getattr(record, key)
        else:
            assert getattr(record, key) is None
    return texts


def run(sentence: str, *items: Item, section: str | None = None) -> list[Record]:
    records = link(sentence, tag(sentence, *items), section)
    for record in records:
        cues(sentence, record)
    return records


# --- GUIDE §3 ---------------------------------------------------------------------------------------


def test_guide_example_values_after_a_comma_keep_the_indicator() -> None:
    s = "地区生产总值预期175亿元，增长17%，力争177亿元"
    records = run(
        s, (IND, "地区生产总值"), (V, "175"), (U, "亿元"), (V, "17"), (U, "%"), (V, "177"), (U, "亿元")
    )
    assert [row(r) for r in records] == [
        ("地区生产总值", 175.0, None, "亿元", "=", "level", "target"),
        ("地区生产总值", 17.0, None, "%", "=", "growth", "target"),
        ("地区生产总值", 177.0, None, "亿元", "=", "level", "target"),
    ]
    assert cues(s, records[0]) == {
        "indicator": "地区生产总值",
        "value": "175",
        "unit": "亿元",
        "status": "预期",
    }
    assert cues(s, records[1]) == {
        "indicator": "地区生产总值",
        "value": "17",
        "unit": "%",
        "measure": "增长",
        "status": "预期",
    }
    assert cues(s, records[2])["status"] == "力争"
    assert records[1].spans["value"] == [s.index("17%"), s.index("17%") + 2]
    assert (records[0].base_value, records[0].base_unit) == (1.75e10, "CNY")
    assert (records[1].base_value, records[1].base_unit) == (17.0, "percent")


def test_guide_example_control_within() -> None:
    s = "城镇登记失业率控制在3%以内"
    [record] = run(s, (IND, "城镇登记失业率"), (V, "3"), (U, "%"))
    assert row(record) == ("城镇登记失业率", 3.0, None, "%", "<=", "level", "target")
    assert cues(s, record)["comparator"] == "以内"


@pytest.mark.parametrize("section", [None, "review"])
def test_guide_example_review_of_2018(section: str | None) -> None:
    s = "2018年，全县地区生产总值完成46.1亿元，同比下降4.3%"
    records = run(s, (IND, "地区生产总值"), (V, "46.1"), (U, "亿元"), (V, "4.3"), (U, "%"), section=section)
    assert [row(r) for r in records] == [
        ("地区生产总值", 46.1, None, "亿元", "=", "level", "actual"),
        ("地区生产总值", 4.3, None, "%", "=", "decline", "actual"),
    ]
    assert cues(s, records[1])["measure"] == "下降"
    assert records[0].base_value == pytest.approx(4.61e9)


def test_guide_example_projects_with_a_shared_action() -> None:
    s = "50亿级的新瑞邦科技、帕为斯特、乐凯新材料一期、天格智能家居年内投产达效"
    names = ["新瑞邦科技", "帕为斯特", "乐凯新材料一期", "天格智能家居"]
    records = run(s, *[(P, name) for name in names])
    assert [row(r) for r in records] == [(name, "投产达效", "target") for name in names]
    for record, name in zip(records, names, strict=True):
        assert record.kind == "project"
        assert cues(s, record) == {"project": name, "action": "投产达效"}
        assert record.value is None and record.indicator is None


# --- GUIDE §1 ---------------------------------------------------------------------------------------

TABLE_CASES = [
    (
        "地区生产总值增长7%左右",
        [(IND, "地区生产总值"), (V, "7"), (U, "%")],
        ("地区生产总值", 7.0, None, "%", "~", "growth", "target"),
        {"comparator": "左右", "measure": "增长"},
    ),
    (
        "城镇新增就业2万人以上",
        [(IND, "城镇新增就业"), (V, "2"), (U, "万人")],
        ("城镇新增就业", 2.0, None, "万人", ">=", "level", "target"),
        {"comparator": "以上"},
    ),
    (
        "全年招引亿元以上工业项目不少于100个",
        [(IND, "招引亿元以上工业项目"), (V, "100"), (U, "个")],
        ("招引亿元以上工业项目", 100.0, None, "个", ">=", "level", "target"),
        {"comparator": "不少于"},
    ),
    (
        "规上工业增加值增长6.8%左右",
        [(IND, "规上工业增加值"), (V, "6.8"), (U, "%")],
        ("规上工业增加值", 6.8, None, "%", "~", "growth", "target"),
        {"measure": "增长"},
    ),
    (
        "数字经济核心产业增加值占地区生产总值比重为14%左右",
        [(IND, "数字经济核心产业增加值占地区生产总值比重"), (V, "14"), (U, "%")],
        ("数字经济核心产业增加值占地区生产总值比重", 14.0, None, "%", "~", "level", "target"),
        {},
    ),
    (
        "实际利用外资1.1亿美元",
        [(IND, "实际利用外资"), (V, "1.1"), (U, "亿美元")],
        ("实际利用外资", 1.1, None, "亿美元", "=", "level", "target"),
        {},
    ),
    (
        "新增产值30亿元企业1家",
        [(IND, "新增产值30亿元企业"), (V, "1"), (U, "家")],
        ("新增产值30亿元企业", 1.0, None, "家", "=", "level", "target"),
        {},
    ),
    (
        "新增高标准农田1.68万亩",
        [(IND, "新增高标准农田"), (V, "1.68"), (U, "万亩")],
        ("新增高标准农田", 1.68, None, "万亩", "=", "level", "target"),
        {},
    ),
    (
        "城镇化率提高1.5个百分点",
        [(IND, "城镇化率"), (V, "1.5"), (U, "个百分点")],
        ("城镇化率", 1.5, None, "个百分点", "=", "growth", "target"),
        {"measure": "提高"},
    ),
    (
        "引进外资8500万美元",
        [(IND, "引进外资"), (V, "8500"), (U, "万美元")],
        ("引进外资", 8500.0, None, "万美元", "=", "level", "target"),
        {},
    ),
    (
        "新增城镇就业岗位3000个",
        [(IND, "新增城镇就业岗位"), (V, "3000"), (U, "个")],
        ("新增城镇就业岗位", 3000.0, None, "个", "=", "level", "target"),
        {},
    ),
]


@pytest.mark.parametrize(("sentence", "items", "expected", "expected_cues"), TABLE_CASES)
def test_guide_table_examples(
    sentence: str, items: list[tuple[str, str]], expected: tuple[object, ...], expected_cues: dict[str, str]
) -> None:
    [record] = run(sentence, *items)
    assert row(record) == expected
    texts = cues(sentence, record)
    for key, text in expected_cues.items():
        assert texts[key] == text
    assert texts["value"] == items[1][1]


@pytest.mark.parametrize(
    ("sentence", "items", "base"),
    [
        ("城镇新增就业2万人以上", [(IND, "城镇新增就业"), (V, "2"), (U, "万人")], (20000.0, "person")),
        ("实际利用外资1.1亿美元", [(IND, "实际利用外资"), (V, "1.1"), (U, "亿美元")], (110000000.0, "USD")),
        ("新增高标准农田1.68万亩", [(IND, "新增高标准农田"), (V, "1.68"), (U, "万亩")], (16800.0, "mu")),
        ("引进外资8500万美元", [(IND, "引进外资"), (V, "8500"), (U, "万美元")], (85000000.0, "USD")),
        (
            "城镇化率提高1.5个百分点",
            [(IND, "城镇化率"), (V, "1.5"), (U, "个百分点")],
            (1.5, "percentage_point"),
        ),
    ],
)
def test_base_units_on_records(sentence: str, items: list[tuple[str, str]], base: tuple[float, str]) -> None:
    [record] = run(sentence, *items)
    assert record.base_value == pytest.approx(base[0])
    assert record.base_unit == base[1]


def test_a_vague_magnitude_tagged_as_value_gives_no_record() -> None:
    s = "地区生产总值保持两位数增长"
    assert run(s, (IND, "地区生产总值"), (V, "两位数")) == []


@pytest.mark.parametrize(
    ("sentence", "names", "action", "status", "status_cue"),
    [
        ("全力破解恒力新材料、中顺洁柔等项目建设难题", ["恒力新材料", "中顺洁柔"], None, "target", None),
        (
            "推动sk海力士七期、华虹二期、村田三工厂等项目尽快投产达效",
            ["sk海力士七期", "华虹二期", "村田三工厂"],
            "投产达效",
            "target",
            None,
        ),
        (
            "确保远航硅涂料、德莱美润滑油等项目开工建设",
            ["远航硅涂料", "德莱美润滑油"],
            "开工建设",
            "target",
            "确保",
        ),
        ("激光装备设计中心、会展中心竣工投用", ["激光装备设计中心", "会展中心"], "竣工投用", "target", None),
    ],
)
def test_guide_project_examples(
    sentence: str, names: list[str], action: str | None, status: str, status_cue: str | None
) -> None:
    records = run(sentence, *[(P, name) for name in names])
    assert [row(r) for r in records] == [(name, action, status) for name in names]
    for record in records:
        texts = cues(sentence, record)
        assert texts.get("action") == action
        assert texts.get("status") == status_cue


def test_projects_in_a_review_section_are_actual() -> None:
    s = "激光装备设计中心、会展中心竣工投用"
    records = run(s, (P, "激光装备设计中心"), (P, "会展中心"), section="review")
    assert [row(r) for r in records] == [
        ("激光装备设计中心", "竣工投用", "actual"),
        ("会展中心", "竣工投用", "actual"),
    ]


def test_coordinated_indicators_share_one_value_with_fenbie() -> None:
    s = "城镇居民可支配收入、农民人均纯收入分别增长12%以上"
    records = run(s, (IND, "城镇居民可支配收入"), (IND, "农民人均纯收入"), (V, "12"), (U, "%"))
    assert [row(r) for r in records] == [
        ("城镇居民可支配收入", 12.0, None, "%", ">=", "growth", "target"),
        ("农民人均纯收入", 12.0, None, "%", ">=", "growth", "target"),
    ]
    assert records[0].spans["value"] == records[1].spans["value"]
    assert cues(s, records[1]) == {
        "indicator": "农民人均纯收入",
        "value": "12",
        "unit": "%",
        "comparator": "以上",
        "measure": "增长",
    }


def test_one_indicator_span_for_incomplete_conjuncts() -> None:
    s = "金融机构存、贷款余额分别增长8.8%、11.9%"
    records = run(s, (IND, "金融机构存、贷款余额"), (V, "8.8"), (U, "%"), (V, "11.9"), (U, "%"))
    assert [row(r) for r in records] == [
        ("金融机构存、贷款余额", 8.8, None, "%", "=", "growth", "target"),
        ("金融机构存、贷款余额", 11.9, None, "%", "=", "growth", "target"),
    ]
    assert cues(s, records[1])["measure"] == "增长"

    s = "高技术制造业、装备制造业增加值分别增长10%、8%"
    records = run(s, (IND, "高技术制造业、装备制造业增加值"), (V, "10"), (U, "%"), (V, "8"), (U, "%"))
    assert [r.indicator for r in records] == ["高技术制造业、装备制造业增加值"] * 2
    assert [r.measure for r in records] == ["growth", "growth"]


def test_fenbie_trailing_cue_applies_to_the_whole_list() -> None:
    s = "全年新开工、新竣工项目分别达60个、50个以上"
    records = run(s, (IND, "新开工、新竣工项目"), (V, "60"), (U, "个"), (V, "50"), (U, "个"), section="plan")
    assert [row(r) for r in records] == [
        ("新开工、新竣工项目", 60.0, None, "个", ">=", "level", "target"),
        ("新开工、新竣工项目", 50.0, None, "个", ">=", "level", "target"),
    ]
    assert cues(s, records[0])["comparator"] == "以上"


def test_fenbie_distributes_values_over_indicators_and_shares_the_cue() -> None:
    s = "工业投资、技改投资分别增长18%、30%以上"
    records = run(s, (IND, "工业投资"), (IND, "技改投资"), (V, "18"), (U, "%"), (V, "30"), (U, "%"))
    assert [row(r) for r in records] == [
        ("工业投资", 18.0, None, "%", ">=", "growth", "target"),
        ("技改投资", 30.0, None, "%", ">=", "growth", "target"),
    ]


def test_fenbie_values_joined_by_he_keep_their_own_cues() -> None:
    s = "城镇、农村居民人均可支配收入分别增长6.5%和6.5%以上"
    records = run(s, (IND, "城镇、农村居民人均可支配收入"), (V, "6.5"), (U, "%"), (V, "6.5"), (U, "%"))
    assert [(r.comparator, r.measure) for r in records] == [("=", "growth"), (">=", "growth")]
    assert "comparator" not in records[0].spans
    assert cues(s, records[1])["comparator"] == "以上"


def test_value_without_indicator_and_with_one() -> None:
    s = "高标准建设的新材料产业园占地4.2平方公里"
    [record] = run(s, (V, "4.2"), (U, "平方公里"))
    assert row(record) == (None, 4.2, None, "平方公里", "=", "level", "target")
    assert (record.base_value, record.base_unit) == (4.2, "km2")
    assert "indicator" not in record.spans
    [record] = run(s, (IND, "占地"), (V, "4.2"), (U, "平方公里"))
    assert record.indicator == "占地"


# --- GUIDE §1b ----------------------------------------------------------------------------------------

BOUNDARY_CASES = [
    (
        "实施“智改数转”项目80个",
        [(IND, "“智改数转”项目"), (V, "80"), (U, "个")],
        ("“智改数转”项目", 80.0, None, "个", "=", "level", "target"),
    ),
    (
        "建成城镇口袋公园50个",
        [(IND, "城镇口袋公园"), (V, "50"), (U, "个")],
        ("城镇口袋公园", 50.0, None, "个", "=", "level", "target"),
    ),
    (
        "先进制造业完成投资超400亿元",
        [(IND, "先进制造业完成投资"), (V, "400"), (U, "亿元")],
        ("先进制造业完成投资", 400.0, None, "亿元", ">", "level", "target"),
    ),
    (
        "完成城镇燃气管网建设100公里",
        [(IND, "城镇燃气管网建设"), (V, "100"), (U, "公里")],
        ("城镇燃气管网建设", 100.0, None, "公里", "=", "level", "target"),
    ),
    (
        "新开工老旧小区改造8372户",
        [(IND, "新开工老旧小区改造"), (V, "8372"), (U, "户")],
        ("新开工老旧小区改造", 8372.0, None, "户", "=", "level", "target"),
    ),
    (
        "居民消费价格涨幅3%左右",
        [(IND, "居民消费价格"), (V, "3"), (U, "%")],
        ("居民消费价格", 3.0, None, "%", "~", "growth", "target"),
    ),
    (
        "第三产业占比达到55%",
        [(IND, "第三产业占比"), (V, "55"), (U, "%")],
        ("第三产业占比", 55.0, None, "%", "=", "level", "target"),
    ),
    (
        "建设100个口袋公园",
        [(V, "100"), (U, "个"), (IND, "口袋公园")],
        ("口袋公园", 100.0, None, "个", "=", "level", "target"),
    ),
    (
        "59个产业类和基建类项目落地开工",
        [(V, "59"), (U, "个"), (IND, "产业类和基建类项目")],
        ("产业类和基建类项目", 59.0, None, "个", "=", "level", "target"),
    ),
    (
        "两次下调存款准备金率",
        [(V, "两"), (U, "次"), (IND, "存款准备金率")],
        ("存款准备金率", 2.0, None, "次", "=", "level", "target"),
    ),
    (
        "停留时间延长至240小时",
        [(IND, "停留时间"), (V, "240"), (U, "小时")],
        ("停留时间", 240.0, None, "小时", "=", "level", "target"),
    ),
    (
        "新增规上工业企业6家",
        [(IND, "新增规上工业企业"), (V, "6"), (U, "家")],
        ("新增规上工业企业", 6.0, None, "家", "=", "level", "target"),
    ),
    (
        "常住人口6600多万",
        [(IND, "常住人口"), (V, "6600"), (U, "万")],
        ("常住人口", 6600.0, None, "万", ">", "level", "target"),
    ),
    (
        "进出口总额接近100亿元",
        [(IND, "进出口总额"), (V, "100"), (U, "亿元")],
        ("进出口总额", 100.0, None, "亿元", "~", "level", "target"),
    ),
    (
        "年接待游客近千万人次",
        [(IND, "接待游客"), (V, "千"), (U, "万人次")],
        ("接待游客", 1000.0, None, "万人次", "~", "level", "target"),
    ),
    (
        "年接待游客上千万人次",
        [(IND, "接待游客"), (V, "千"), (U, "万人次")],
        ("接待游客", 1000.0, None, "万人次", ">=", "level", "target"),
    ),
]


@pytest.mark.parametrize(("sentence", "items", "expected"), BOUNDARY_CASES)
def test_guide_boundary_examples(
    sentence: str, items: list[tuple[str, str]], expected: tuple[object, ...]
) -> None:
    [record] = run(sentence, *items, section="plan")
    assert row(record) == expected


def test_boundary_cue_spans() -> None:
    s = "常住人口6600多万"
    [record] = run(s, (IND, "常住人口"), (V, "6600"), (U, "万"))
    assert cues(s, record)["comparator"] == "多"
    assert (record.base_value, record.base_unit) == (66000000.0, None)

    s = "年接待游客上千万人次"
    [record] = run(s, (IND, "接待游客"), (V, "千"), (U, "万人次"))
    assert cues(s, record)["comparator"] == "上"
    assert (record.base_value, record.base_unit) == (1e7, "person_time")

    s = "停留时间延长至240小时"
    [record] = run(s, (IND, "停留时间"), (V, "240"), (U, "小时"))
    assert cues(s, record)["measure"] == "延长至"

    s = "先进制造业完成投资超400亿元"
    [record] = run(s, (IND, "先进制造业完成投资"), (V, "400"), (U, "亿元"))
    # 完成 inside the INDICATOR is not a status cue.
    assert cues(s, record) == {
        "indicator": "先进制造业完成投资",
        "value": "400",
        "unit": "亿元",
        "comparator": "超",
    }
    assert record.status == "target"


def test_net_increase_and_total_take_the_same_indicator() -> None:
    s = "全市市场主体净增3000家，达5万家"
    records = run(s, (IND, "市场主体"), (V, "3000"), (U, "家"), (V, "5"), (U, "万家"))
    assert [row(r) for r in records] == [
        ("市场主体", 3000.0, None, "家", "=", "level", "target"),
        ("市场主体", 5.0, None, "万家", "=", "level", "target"),
    ]
    assert (records[1].base_value, records[1].base_unit) == (50000.0, "家")


def test_percent_written_before_the_number() -> None:
    s = "城乡居民收入增长百分之十一点八"
    [record] = run(s, (IND, "城乡居民收入"), (U, "百分之"), (V, "十一点八"))
    assert row(record) == ("城乡居民收入", 11.8, None, "百分之", "=", "growth", "target")
    assert cues(s, record) == {
        "indicator": "城乡居民收入",
        "value": "十一点八",
        "unit": "百分之",
        "measure": "增长",
    }
    assert record.base_unit == "percent"

    s = "城镇化率提高百分之八至九"
    [record] = run(s, (IND, "城镇化率"), (U, "百分之"), (V, "八至九"))
    assert row(record) == ("城镇化率", 8.0, 9.0, "百分之", "=", "growth", "target")


def test_percent_left_inside_the_value_becomes_the_unit() -> None:
    s = "地区生产总值增长8%左右"
    [record] = run(s, (IND, "地区生产总值"), (V, "8%"))
    assert row(record) == ("地区生产总值", 8.0, None, "%", "~", "growth", "target")
    assert cues(s, record)["unit"] == "%"


def test_full_width_digits_in_a_raw_sentence() -> None:
    s = "地区生产总值增长８％左右，财政收入２５３００亿元"
    records = run(
        s, (IND, "地区生产总值"), (V, "８"), (U, "％"), (IND, "财政收入"), (V, "２５３００"), (U, "亿元")
    )
    assert [row(r) for r in records] == [
        ("地区生产总值", 8.0, None, "％", "~", "growth", "target"),
        ("财政收入", 25300.0, None, "亿元", "=", "level", "target"),
    ]
    assert records[0].base_unit == "percent"
    assert records[1].base_value == pytest.approx(2.53e12)
    assert cues(s, records[1])["value"] == "２５３００"


def test_range_values() -> None:
    s = "城镇新增就业3-5万人"
    [record] = run(s, (IND, "城镇新增就业"), (V, "3-5"), (U, "万人"))
    assert (record.value, record.value_max, record.base_value) == (3.0, 5.0, 30000.0)
    s = "研发投入增长一至两成"
    [record] = run(s, (IND, "研发投入"), (V, "一至两"), (U, "成"))
    assert row(record) == ("研发投入", 1.0, 2.0, "成", "=", "growth", "target")
    assert (record.base_value, record.base_unit) == (10.0, "percent")


# --- GUIDE §2: linking rules --------------------------------------------------------------------------


def test_qizhong_sub_indicator_is_a_separate_record() -> None:
    s = "完成固定资产投资780亿元、其中工业投资360亿元"
    records = run(
        s,
        (IND, "固定资产投资"),
        (V, "780"),
        (U, "亿元"),
        (IND, "工业投资"),
        (V, "360"),
        (U, "亿元"),
        section="plan",
    )
    assert [row(r) for r in records] == [
        ("固定资产投资", 780.0, None, "亿元", "=", "level", "target"),
        ("工业投资", 360.0, None, "亿元", "=", "level", "target"),
    ]


def test_qizhong_value_without_its_own_indicator_is_not_merged_into_the_parent() -> None:
    s = "招引项目100个，其中18个"
    records = run(s, (IND, "招引项目"), (V, "100"), (U, "个"), (V, "18"), (U, "个"))
    assert [r.indicator for r in records] == ["招引项目", None]
    assert "indicator" not in records[1].spans


def test_indicator_is_the_nearest_before_in_the_clause() -> None:
    s = "城镇新增就业2万人以上，城镇调查失业率5.5%左右"
    records = run(
        s, (IND, "城镇新增就业"), (V, "2"), (U, "万人"), (IND, "城镇调查失业率"), (V, "5.5"), (U, "%")
    )
    assert [r.indicator for r in records] == ["城镇新增就业", "城镇调查失业率"]
    assert [r.comparator for r in records] == [">=", "~"]


def test_measure_does_not_leak_from_the_previous_value() -> None:
    s = "固定资产投资增长8%、社会消费品零售总额1000亿元"
    records = run(
        s, (IND, "固定资产投资"), (V, "8"), (U, "%"), (IND, "社会消费品零售总额"), (V, "1000"), (U, "亿元")
    )
    assert [(r.indicator, r.measure) for r in records] == [
        ("固定资产投资", "growth"),
        ("社会消费品零售总额", "level"),
    ]


def test_a_rate_after_a_comma_keeps_the_change_word_of_its_indicator() -> None:
    s = "地区生产总值增长7.5%左右，力争8%"
    records = run(s, (IND, "地区生产总值"), (V, "7.5"), (U, "%"), (V, "8"), (U, "%"))
    assert [row(r) for r in records] == [
        ("地区生产总值", 7.5, None, "%", "~", "growth", "target"),
        ("地区生产总值", 8.0, None, "%", "=", "growth", "target"),
    ]
    assert cues(s, records[1])["status"] == "力争"


def test_coordinated_indicators_pair_with_as_many_values_without_fenbie() -> None:
    s = "项目落地率、开工率同比提高25个百分点和18个百分点"
    records = run(
        s,
        (IND, "项目落地率"),
        (IND, "开工率"),
        (V, "25"),
        (U, "个百分点"),
        (V, "18"),
        (U, "个百分点"),
        section="review",
    )
    assert [row(r) for r in records] == [
        ("项目落地率", 25.0, None, "个百分点", "=", "growth", "actual"),
        ("开工率", 18.0, None, "个百分点", "=", "growth", "actual"),
    ]
    assert cues(s, records[1])["measure"] == "提高"


def test_fenbie_across_a_comma_uses_the_coordinated_indicators_before_it() -> None:
    s = "城镇、农村居民人均可支配收入达5.27万元、2.67万元，分别增长7.8%和8.3%"
    records = run(
        s,
        (IND, "城镇、农村居民人均可支配收入"),
        (V, "5.27"),
        (U, "万元"),
        (V, "2.67"),
        (U, "万元"),
        (V, "7.8"),
        (U, "%"),
        (V, "8.3"),
        (U, "%"),
        section="review",
    )
    assert [(r.value, r.measure, r.status) for r in records] == [
        (5.27, "level", "actual"),
        (2.67, "level", "actual"),
        (7.8, "growth", "actual"),
        (8.3, "growth", "actual"),
    ]
    assert {r.indicator for r in records} == {"城镇、农村居民人均可支配收入"}
    assert records[0].base_value == pytest.approx(52700.0)


@pytest.mark.parametrize(
    ("sentence", "value", "comparator", "cue"),
    [
        ("粮食产量约500万吨", "500", "~", "约"),
        ("粮食产量500万吨上下", "500", "~", "上下"),
        ("营业收入超过100亿元", "100", ">", "超过"),
        ("营业收入突破100亿元", "100", ">", "突破"),
        ("营业收入逾100亿元", "100", ">", "逾"),
        ("营业收入不低于100亿元", "100", ">=", "不低于"),
        ("营业收入至少100亿元", "100", ">=", "至少"),
        ("营业收入不超过100亿元", "100", "<=", "不超过"),
        ("营业收入100亿元以下", "100", "<=", "以下"),
        ("营业收入低于100亿元", "100", "<", "低于"),
        ("营业收入100余亿元", "100", ">", "余"),
        ("营业收入100亿元", "100", "=", None),
    ],
)
def test_comparator_cues(sentence: str, value: str, comparator: str, cue: str | None) -> None:
    [record] = run(
        sentence,
        (IND, "营业收入" if "营业" in sentence else "粮食产量"),
        (V, value),
        (U, "亿元" if "亿元" in sentence else "万吨"),
    )
    assert record.comparator == comparator
    assert cues(sentence, record).get("comparator") == cue


def test_a_cue_belongs_to_the_nearest_value() -> None:
    s = "地区生产总值增长7%左右，一般公共预算收入增长5%"
    records = run(s, (IND, "地区生产总值"), (V, "7"), (U, "%"), (IND, "一般公共预算收入"), (V, "5"), (U, "%"))
    assert [r.comparator for r in records] == ["~", "="]


@pytest.mark.parametrize(
    ("sentence", "measure", "cue"),
    [
        ("单位GDP能耗下降3%", "decline", "下降"),
        ("降低单位GDP能耗3%", "decline", "降低"),
        ("单位GDP能耗压降3%", "decline", "压降"),
        ("单位GDP能耗降幅3%", "decline", "降幅"),
        ("单位GDP能耗增加3%", "growth", "增加"),
        ("单位GDP能耗降至3%", "level", "降至"),
        ("单位GDP能耗为3%", "level", None),
    ],
)
def test_measure_cues(sentence: str, measure: str, cue: str | None) -> None:
    [record] = run(sentence, (IND, "单位GDP能耗"), (V, "3"), (U, "%"))
    assert record.measure == measure
    assert cues(sentence, record).get("measure") == cue


# --- status -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "section", "status", "cue"),
    [
        ("地区生产总值增长7%", "plan", "target", None),
        ("地区生产总值增长7%", "review", "actual", None),
        ("地区生产总值增长7%", None, "target", None),
        ("地区生产总值比上年增长7%", "plan", "target", None),
        ("地区生产总值比上年增长7%", "review", "actual", "比上年"),
        ("地区生产总值比上年增长7%", None, "actual", "比上年"),
        ("力争实现地区生产总值增长7%", None, "target", "力争"),
        ("力争实现地区生产总值增长7%", "plan", "target", "力争"),
        ("预计全年地区生产总值增长7%", "plan", "actual", "预计"),
        ("主要预期目标是：地区生产总值比上年增长7%", None, "target", "目标"),
        ("年初预期目标是地区生产总值增长7%", "review", "target", "目标"),
        ("地区生产总值实际增长7%", "review", "actual", "实际"),
    ],
)
def test_status_precedence(sentence: str, section: str | None, status: str, cue: str | None) -> None:
    [record] = run(sentence, (IND, "地区生产总值"), (V, "7"), (U, "%"), section=section)
    assert record.status == status
    assert cues(sentence, record).get("status") == cue


def test_target_and_result_in_one_review_sentence() -> None:
    s = "年初预期目标增长7%，实现增长7.5%"
    records = run(s, (V, "7"), (U, "%"), (V, "7.5"), (U, "%"), section="review")
    assert [(r.value, r.status) for r in records] == [(7.0, "target"), (7.5, "actual")]
    assert [cues(s, r)["status"] for r in records] == ["目标", "实现"]


def test_a_gap_to_the_target_is_not_a_target() -> None:
    s = "规模以上工业增加值同比增长10.1%，高于目标2.1个百分点"
    records = run(s, (IND, "规模以上工业增加值"), (V, "10.1"), (U, "%"), (V, "2.1"), (U, "个百分点"))
    assert [r.status for r in records] == ["actual", "actual"]


# --- projects -----------------------------------------------------------------------------------------


def test_project_action_before_the_list_and_ongoing_construction() -> None:
    s = "新开工华为、中兴等项目"
    records = run(s, (P, "华为"), (P, "中兴"))
    assert [row(r) for r in records] == [("华为", "新开工", "target"), ("中兴", "新开工", "target")]
    assert cues(s, records[0])["action"] == "新开工"

    s = "加快恒力新材料建设"
    [record] = run(s, (P, "恒力新材料"))
    assert row(record) == ("恒力新材料", None, "target")
    assert "action" not in record.spans


def test_project_status_cue_between_project_and_action() -> None:
    s = "海创磷酸铁锂项目已经签约"
    [record] = run(s, (P, "海创磷酸铁锂项目"), section="plan")
    assert row(record) == ("海创磷酸铁锂项目", "签约", "actual")
    assert cues(s, record) == {"project": "海创磷酸铁锂项目", "action": "签约", "status": "已经"}


def test_projects_listed_with_their_own_investment() -> None:
    s = "总投资50亿元的国药器械产业园、30亿元的润祥物流园等优质项目落地"
    records = run(
        s,
        (IND, "总投资"),
        (V, "50"),
        (U, "亿元"),
        (P, "国药器械产业园"),
        (V, "30"),
        (U, "亿元"),
        (P, "润祥物流园"),
    )
    assert [row(r) for r in records] == [
        ("总投资", 50.0, None, "亿元", "=", "level", "target"),
        ("国药器械产业园", "落地", "target"),
        ("总投资", 30.0, None, "亿元", "=", "level", "target"),
        ("润祥物流园", "落地", "target"),
    ]


# --- text variants ------------------------------------------------------------------------------------


def test_traditional_text_after_normalisation() -> None:
    s = OpenCC("t2s").convert("力爭固定資產投資增幅16%以上、規上工業產值增幅13%以上")
    assert s == "力争固定资产投资增幅16%以上、规上工业产值增幅13%以上"
    records = run(s, (IND, "固定资产投资"), (V, "16"), (U, "%"), (IND, "规上工业产值"), (V, "13"), (U, "%"))
    assert [row(r) for r in records] == [
        ("固定资产投资", 16.0, None, "%", ">=", "growth", "target"),
        ("规上工业产值", 13.0, None, "%", ">=", "growth", "target"),
    ]
    assert [cues(s, r)["measure"] for r in records] == ["增幅", "增幅"]
    assert [cues(s, r)["status"] for r in records] == ["力争", "力争"]


def test_traditional_value_text_passed_as_written() -> None:
    s = "城乡居民人均可支配收入达5.27萬元"
    [record] = run(s, (IND, "城乡居民人均可支配收入"), (V, "5.27"), (U, "萬元"))
    assert (record.unit, record.base_value, record.base_unit) == ("萬元", 52700.0, "CNY")


def test_emoji_in_the_sentence() -> None:
    s = "🎯地区生产总值增长7%左右👍，🚀城镇新增就业2万人"
    records = run(s, (IND, "地区生产总值"), (V, "7"), (U, "%"), (IND, "城镇新增就业"), (V, "2"), (U, "万人"))
    assert [row(r) for r in records] == [
        ("地区生产总值", 7.0, None, "%", "~", "growth", "target"),
        ("城镇新增就业", 2.0, None, "万人", "=", "level", "target"),
    ]
    assert cues(s, records[1])["value"] == "2"


# --- odd inputs ---------------------------------------------------------------------------------------


def test_empty_and_span_less_input() -> None:
    assert link("", []) == []
    assert link("地区生产总值增长7%", []) == []
    assert link("", [Span(V, 0, 1, "7")]) == []


def test_spans_without_values_give_no_target() -> None:
    s = "地区生产总值增长7%"
    assert run(s, (IND, "地区生产总值")) == []
    assert run(s, (U, "%")) == []


def test_invalid_and_overlapping_spans_do_not_crash() -> None:
    s = "地区生产总值增长7%左右"
    spans = [
        Span(IND, 0, 6, "地区生产总值", 0.9),
        Span(IND, 2, 8, "生产总值增长", 0.5),  # overlaps the better INDICATOR: dropped
        Span(V, 8, 9, "7", 0.8),
        Span(U, 9, 10, "%", 0.7),
        Span(U, 9, 12, "%左右", 0.4),  # overlaps the unit: dropped
        Span(V, 40, 45, "xx", 1.0),  # outside the sentence
        Span(V, 5, 5, "", 1.0),  # empty
        Span("DATE", 0, 2, "地区", 1.0),  # unknown label
    ]
    [record] = link(s, spans, "plan")
    assert row(record) == ("地区生产总值", 7.0, None, "%", "~", "growth", "target")
    assert record.confidence == pytest.approx(0.7)
    assert cues(s, record)["indicator"] == "地区生产总值"


def test_placeholder_values_are_skipped() -> None:
    s = "地区生产总值增长XX%，财政收入10亿元"
    records = run(s, (IND, "地区生产总值"), (V, "XX"), (U, "%"), (IND, "财政收入"), (V, "10"), (U, "亿元"))
    assert [row(r) for r in records] == [("财政收入", 10.0, None, "亿元", "=", "level", "target")]


def test_records_carry_the_sentence_and_leave_document_fields_empty() -> None:
    s = "地区生产总值增长7%"
    [record] = run(s, (IND, "地区生产总值", 0.9), (V, "7", 0.95), (U, "%", 0.99))
    assert record.sentence == s
    assert record.kind == "target"
    assert (record.doc, record.region, record.level, record.year, record.sentence_start) == (
        "",
        None,
        None,
        None,
        0,
    )
    assert record.confidence == pytest.approx(0.9)


def test_records_come_in_sentence_order() -> None:
    s = "确保远航硅涂料开工建设，全年新增规上工业企业6家"
    records = run(s, (P, "远航硅涂料"), (IND, "新增规上工业企业"), (V, "6"), (U, "家"))
    assert [r.kind for r in records] == ["project", "target"]
    assert records[1].indicator == "新增规上工业企业"
    assert cues(s, records[1])["status"] == "确保"


def test_coordinated_indicators_pair_before_and_after_fenbie() -> None:
    s = "城镇居民人均可支配收入、农村居民人均可支配收入达5.27万元、2.67万元，分别增长7.8%和8.3%"
    records = run(
        s,
        (IND, "城镇居民人均可支配收入"),
        (IND, "农村居民人均可支配收入"),
        (V, "5.27"),
        (U, "万元"),
        (V, "2.67"),
        (U, "万元"),
        (V, "7.8"),
        (U, "%"),
        (V, "8.3"),
        (U, "%"),
        section="review",
    )
    assert [(r.indicator, r.value, r.measure) for r in records] == [
        ("城镇居民人均可支配收入", 5.27, "level"),
        ("农村居民人均可支配收入", 2.67, "level"),
        ("城镇居民人均可支配收入", 7.8, "growth"),
        ("农村居民人均可支配收入", 8.3, "growth"),
    ]
    assert [cues(s, r)["indicator"] for r in records] == [r.indicator for r in records]


def test_consecutive_milestones_form_one_action() -> None:
    s = "推动同煤活性炭项目建成并投产"
    [record] = run(s, (P, "同煤活性炭项目"))
    assert cues(s, record)["action"] == "建成并投产"


def test_random_span_sets_never_crash_and_stay_consistent() -> None:
    sentences = [
        "地区生产总值预期175亿元，增长17%，力争177亿元，其中工业增加值50亿元",
        "新开工、新竣工项目分别达60个、50个以上；推动华虹二期等项目尽快投产达效",
        "🎯城镇新增就业2万人以上，城镇调查失业率5.5%左右，常住人口6600多万",
    ]
    rnd = random.Random(20240101)
    labels = (IND, V, U, P, "OTHER")
    for _ in range(400):
        s = rnd.choice(sentences)
        spans = []
        for _ in range(rnd.randint(0, 10)):
            start = rnd.randint(-2, len(s))
            end = start + rnd.randint(-1, 7)
            spans.append(Span(rnd.choice(labels), start, end, s[max(start, 0) : max(end, 0)], rnd.random()))
        for section in (None, "plan", "review", "other"):
            for record in link(s, spans, section):
                cues(s, record)
                assert all(0 <= a < b <= len(s) for a, b in record.spans.values())
                assert record.confidence is not None and 0.0 <= record.confidence <= 1.0


@pytest.mark.parametrize(
    "items",
    [
        [(IND, "国内生产总值"), (V, "6"), (U, "%"), (V, "6.5"), (U, "%")],
        [(IND, "国内生产总值"), (V, "6"), (U, "%")],
    ],
)
def test_range_with_the_unit_on_both_bounds_is_one_value(items: list[tuple[str, str]]) -> None:
    s = "国内生产总值增长6%-6.5%左右"
    [record] = run(s, *items, section="plan")
    assert row(record) == ("国内生产总值", 6.0, 6.5, "%", "~", "growth", "target")
    texts = cues(s, record)
    assert (texts["value"], texts["unit"]) == ("6%-6.5", "%")
    assert record.spans["unit"] == [s.index("%左右"), s.index("%左右") + 1]


def test_a_dash_before_a_different_unit_is_no_range() -> None:
    s = "粮食产量600万吨-700亿元"
    records = run(s, (IND, "粮食产量"), (V, "600"), (U, "万吨"), (V, "700"), (U, "亿元"))
    assert [(r.value, r.value_max, r.unit) for r in records] == [(600.0, None, "万吨"), (700.0, None, "亿元")]


def test_expected_yield_of_a_project_is_a_target() -> None:
    s = "项目建成达产后可实现年产值104亿元"
    [record] = run(s, (IND, "年产值"), (V, "104"), (U, "亿元"))
    assert record.status == "target"
    assert cues(s, record)["status"] == "可实现"


@pytest.mark.parametrize(
    ("sentence", "items"),
    [
        # GUIDE §1 / §1b "not entities": correctly tagged, these give no target record.
        ("加大对7家拟上市企业的扶持力度", []),
        ("围绕50个省重点项目强化要素保障", []),
        ("全力办好十件民生实事", []),
        ("做强3大产业", []),
        ("招引百亿级项目", [(IND, "百亿级项目")]),
        ("连续3年获评全省第4位", []),
        ("为65岁及以上老年人免费体检", []),
        ("推进“智改数转”和双招双引", []),
    ],
)
def test_numbers_that_are_not_values_give_no_target(sentence: str, items: list[tuple[str, str]]) -> None:
    assert [r for r in run(sentence, *items) if r.kind == "target"] == []


def test_numbers_inside_an_indicator_stay_in_its_name() -> None:
    s = "10条重点产业链产值增长10%，全社会固定资产投资增长8%"
    records = run(
        s, (IND, "10条重点产业链产值"), (V, "10"), (U, "%"), (IND, "全社会固定资产投资"), (V, "8"), (U, "%")
    )
    assert [row(r) for r in records] == [
        ("10条重点产业链产值", 10.0, None, "%", "=", "growth", "target"),
        ("全社会固定资产投资", 8.0, None, "%", "=", "growth", "target"),
    ]
    assert cues(s, records[0])["value"] == "10"
    assert records[0].spans["value"] == [s.index("10%"), s.index("10%") + 2]


# --- regressions found by tracking on the national corpus --------------------------------------------


def test_better_than_expected_is_not_a_target() -> None:
    s = "经过艰苦努力,经济恢复好于预期,全年国内生产总值增长2.3%"
    [record] = run(s, (IND, "国内生产总值"), (V, "2.3"), (U, "%"), section="review")
    assert record.status == "actual"


def test_achieving_last_years_goals_is_a_review_of_results() -> None:
    s = "2012年,全面实现年初确定的主要目标,国内生产总值增长7.8%"
    [record] = run(s, (IND, "国内生产总值"), (V, "7.8"), (U, "%"), section="review")
    assert record.status == "actual"


def test_a_change_noun_makes_the_number_a_rate_whatever_the_verb() -> None:
    s = "居民消费价格涨幅回落到2.6%"
    [record] = run(s, (IND, "居民消费价格"), (V, "2.6"), (U, "%"))
    assert (record.measure, cues(s, record)["measure"]) == ("growth", "涨幅")


def test_numeral_split_by_duo_reads_in_the_units_magnitude() -> None:
    s = "原煤产量七亿七千多万吨"
    [record] = run(s, (IND, "原煤产量"), (V, "七亿七千"), (U, "万吨"))
    assert (record.value, record.unit, record.comparator, record.base_value) == (77000.0, "万吨", ">", 7.7e8)
