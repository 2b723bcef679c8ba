"""The rule backend against annotations/GUIDE.md: boundaries (§1, §1b), exclusions and the seeds."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import opencc
import pytest

from govtargets.numbers import UNIT_WORDS
from govtargets.records import LABELS, Span
from govtargets.rules import RuleBackend, tag_sentence
from govtargets.rules.patterns import UNIT_KINDS

DATA = Path(__file__).resolve().parents[1] / "data"


def tag(sentence: str) -> list[Span]:
    spans = RuleBackend().tag([sentence])[0]
    for span in spans:
        assert sentence[span.start:span.end] == span.text
    return spans


def pairs(sentence: str) -> list[tuple[str, str]]:
    return [(s.label, s.text) for s in tag(sentence)]


def texts(sentence: str, label: str) -> list[str]:
    return [s.text for s in tag(sentence) if s.label == label]


# --- the protocol --------------------------------------------------------------------------------


def test_backend_name_and_empty_input() -> None:
    backend = RuleBackend()
    assert backend.name == "rules"
    assert backend.tag([]) == []
    assert backend.tag([""]) == [[]]
    assert backend.tag(["   ", "各位代表!"]) == [[], []]


def test_offsets_are_relative_to_each_sentence() -> None:
    first, second = RuleBackend().tag(["地区生产总值增长7%左右", "今年,城镇登记失业率控制在3%以内"])
    assert [s.text for s in first] == ["地区生产总值", "7", "%"]
    assert second[0] == Span("INDICATOR", 3, 10, "城镇登记失业率", second[0].score)
    assert (second[1].start, second[1].end, second[1].text) == (13, 14, "3")


# --- guide §1 examples ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("地区生产总值增长7%左右", [("INDICATOR", "地区生产总值"), ("VALUE", "7"), ("UNIT", "%")]),
        ("城镇新增就业2万人以上", [("INDICATOR", "城镇新增就业"), ("VALUE", "2"), ("UNIT", "万人")]),
        ("全年招引亿元以上工业项目不少于100个",
         [("INDICATOR", "招引亿元以上工业项目"), ("VALUE", "100"), ("UNIT", "个")]),
        ("规上工业增加值增长6.8%左右", [("INDICATOR", "规上工业增加值"), ("VALUE", "6.8"), ("UNIT", "%")]),
        ("数字经济核心产业增加值占地区生产总值比重为14%左右",
         [("INDICATOR", "数字经济核心产业增加值占地区生产总值比重"), ("VALUE", "14"), ("UNIT", "%")]),
        ("实际使用外资1.1亿美元", [("INDICATOR", "实际使用外资"), ("VALUE", "1.1"), ("UNIT", "亿美元")]),
        ("新增产值30亿元企业1家", [("INDICATOR", "新增产值30亿元企业"), ("VALUE", "1"), ("UNIT", "家")]),
        ("按可比口径,实际利用外资8500万美元",
         [("INDICATOR", "实际利用外资"), ("VALUE", "8500"), ("UNIT", "万美元")]),
        ("全年完成造林绿化1.68万亩", [("INDICATOR", "造林绿化"), ("VALUE", "1.68"), ("UNIT", "万亩")]),
        ("城镇登记失业率控制在3%以内", [("INDICATOR", "城镇登记失业率"), ("VALUE", "3"), ("UNIT", "%")]),
    ],
)
def test_guide_target_examples(sentence: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(sentence) == expected


def test_units_with_magnitude_and_points() -> None:
    assert texts("研发投入强度提高1.5个百分点", "UNIT") == ["个百分点"]
    assert texts("新增学位3000个", "UNIT") == ["个"]
    assert pairs("新增保障性租赁住房600套(间)") == [
        ("INDICATOR", "新增保障性租赁住房"), ("VALUE", "600"), ("UNIT", "套(间)")]


def test_guide_worked_example_with_several_values() -> None:
    assert pairs("地区生产总值预期175亿元,增长17%,力争177亿元") == [
        ("INDICATOR", "地区生产总值"), ("VALUE", "175"), ("UNIT", "亿元"), ("VALUE", "17"), ("UNIT", "%"),
        ("VALUE", "177"), ("UNIT", "亿元"),
    ]
    assert pairs("2018年,全县地区生产总值完成46.1亿元,同比下降4.3%") == [
        ("INDICATOR", "地区生产总值"), ("VALUE", "46.1"), ("UNIT", "亿元"), ("VALUE", "4.3"), ("UNIT", "%"),
    ]


def test_coordinated_complete_indicators_get_one_span_each() -> None:
    assert pairs("城镇居民可支配收入、农民人均纯收入分别增长12%以上") == [
        ("INDICATOR", "城镇居民可支配收入"), ("INDICATOR", "农民人均纯收入"), ("VALUE", "12"), ("UNIT", "%"),
    ]
    assert texts("工业投资、工业技改投资、制造业投资分别增长18.2%、13.1%、17.8%", "INDICATOR") == [
        "工业投资", "工业技改投资", "制造业投资"]


@pytest.mark.parametrize(
    ("sentence", "indicator"),
    [
        ("金融机构存、贷款余额分别增长8.8%、11.9%", "金融机构存、贷款余额"),
        ("高技术制造业、装备制造业增加值分别增长10%、8%", "高技术制造业、装备制造业增加值"),
        ("全年新开工、新竣工项目分别达60个、50个以上", "新开工、新竣工项目"),
        ("城镇居民、农村居民人均可支配收入分别增长7%、7.5%", "城镇居民、农村居民人均可支配收入"),
    ],
)
def test_incomplete_conjuncts_make_one_span(sentence: str, indicator: str) -> None:
    assert texts(sentence, "INDICATOR") == [indicator]
    assert len(texts(sentence, "VALUE")) == 2


# --- guide §1b boundaries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "indicator"),
    [
        ("实施“智改数转”项目80个", "“智改数转”项目"),
        ("建成城镇口袋公园50个", "城镇口袋公园"),
        ("先进制造业完成投资超400亿元", "先进制造业完成投资"),
        ("完成城镇燃气管网建设100公里", "城镇燃气管网建设"),
        ("新开工老旧小区改造8372户", "新开工老旧小区改造"),
        ("全区规上工业增加值增长6%", "规上工业增加值"),
        ("今年全社会固定资产投资增长11%左右", "全社会固定资产投资"),
        ("居民消费价格涨幅3%左右", "居民消费价格"),
        ("第三产业占比达到55%", "第三产业占比"),
        ("净增“四上单位”150家以上", "净增“四上单位”"),
        ("新增规上工业企业6家", "新增规上工业企业"),
        ("停留时间延长至240小时", "停留时间"),
        ("2022年福建省地区生产总值突破5万亿元", "地区生产总值"),
    ],
)
def test_indicator_boundaries(sentence: str, indicator: str) -> None:
    assert texts(sentence, "INDICATOR") == [indicator]


def test_counted_noun_after_the_number_is_the_indicator() -> None:
    assert pairs("建设100个口袋公园") == [("VALUE", "100"), ("UNIT", "个"), ("INDICATOR", "口袋公园")]
    assert pairs("59个产业类和基建类项目落地开工") == [
        ("VALUE", "59"), ("UNIT", "个"), ("INDICATOR", "产业类和基建类项目")]
    assert texts("新增43个低空飞行器起降点、58条低空飞行航线", "INDICATOR") == [
        "低空飞行器起降点", "低空飞行航线"]


def test_numbers_inside_an_indicator_name_are_not_values() -> None:
    assert pairs("年内10条重点产业链产值突破300亿元") == [
        ("INDICATOR", "10条重点产业链产值"), ("VALUE", "300"), ("UNIT", "亿元")]
    assert pairs("其中50亿级项目不少于4个,百亿级项目不少于2个") == [
        ("INDICATOR", "50亿级项目"), ("VALUE", "4"), ("UNIT", "个"),
        ("INDICATOR", "百亿级项目"), ("VALUE", "2"), ("UNIT", "个"),
    ]
    assert texts("新增500万元村3个", "VALUE") == ["3"]


def test_percent_written_before_the_number() -> None:
    assert pairs("国内生产总值增长百分之十一点八") == [
        ("INDICATOR", "国内生产总值"), ("UNIT", "百分之"), ("VALUE", "十一点八")]
    assert pairs("工业总产值增长百分之八至九") == [
        ("INDICATOR", "工业总产值"), ("UNIT", "百分之"), ("VALUE", "八至九")]


@pytest.mark.parametrize(
    ("sentence", "value", "unit"),
    [
        ("招引数据服务头部企业4-5家", "4-5", "家"),
        ("产值增长4至5倍", "4至5", "倍"),
        ("新增学位一至两万个", "一至两", "万个"),
        ("外出农民工达到6600多万", "6600", "万"),
        ("带动就业人口上千万", "千", "万"),
        ("光电产业总产值将突破千亿元", "千", "亿元"),
        ("城镇新增就业1,200万人", "1,200", "万人"),
        ("总投资 50 亿元的产业园", "50", "亿元"),
    ],
)
def test_value_forms(sentence: str, value: str, unit: str) -> None:
    assert texts(sentence, "VALUE") == [value]
    assert texts(sentence, "UNIT") == [unit]


# --- not entities (guide §1 and §1b) -------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "2023年1月3日召开大会,上半年完成“十四五”规划中期评估,总结十三五经验",
        "第一,加快发展。一、稳增长;1、抓项目;(1)强工业;（一）优服务",
        "扎实推进“六大工程”,构建“3+4+X”产业体系,深入落实市“532”发展战略,完成双拥“八连冠”创建",
        "连续3年位居全省第4位,排名跃升11位,停产8个月的企业全部复产",
        "为65岁及以上老年人免费体检",
        "加大对7家拟上市企业的扶持力度",
        "围绕50个省重点项目,提升开工率",
        "全力办好十件民生实事,壮大3大产业",
        "地区生产总值增长x.x%,一般公共预算收入增长XX%,固定资产投资增长X%,消费增长××%",
        "开通12345热线,咨询电话0571-87654321,根据苏政发〔2023〕5号文件",
        "地区生产总值保持两位数增长",
        "落实区委10个方面40条贯彻举措,重点做好七个方面工作",
        "中国作为一个幅员辽阔的国家,需要一个和平的国际环境",
        "推进华润20万吨啤酒、陕汽专用车一期等项目前期工作",
    ],
)
def test_no_values(sentence: str) -> None:
    assert texts(sentence, "VALUE") == []
    assert texts(sentence, "UNIT") == []


def test_threshold_stays_inside_the_indicator() -> None:
    spans = tag("10亿元以上项目超30个")
    assert [(s.label, s.text) for s in spans] == [
        ("INDICATOR", "10亿元以上项目"), ("VALUE", "30"), ("UNIT", "个")]


def test_programmes_and_supported_enterprises_are_not_projects() -> None:
    assert texts("实施“智改数转”项目80个,加强双招双引", "PROJECT") == []
    assert texts("继续实施万村千乡市场工程", "PROJECT") == []
    assert texts("支持微亿智造争创国家级工业互联网“双跨”平台", "PROJECT") == []
    assert texts("积极引导克林泰迩、凯锐化工等企业向“专精特新”方向发展", "PROJECT") == []
    assert texts("推进工业强基、智能制造、绿色制造等重大工程", "PROJECT") == []
    assert texts("主要用于保障性住房、教育、卫生、文化等民生工程建设", "PROJECT") == []


# --- projects --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "projects"),
    [
        ("全力破解恒力新材料、中顺洁柔等项目建设难题", ["恒力新材料", "中顺洁柔"]),
        ("推动sk海力士七期、华虹二期、村田三工厂等项目尽快投产达效",
         ["sk海力士七期", "华虹二期", "村田三工厂"]),
        ("确保远航硅涂料、德莱美润滑油等项目开工建设", ["远航硅涂料", "德莱美润滑油"]),
        ("激光装备设计中心、会展中心竣工投用", ["激光装备设计中心", "会展中心"]),
        ("50亿级的新瑞邦科技、帕为斯特、乐凯新材料一期、天格智能家居年内投产达效",
         ["新瑞邦科技", "帕为斯特", "乐凯新材料一期", "天格智能家居"]),
        ("加快光电产业园、美国皇冠制罐、台湾视创等工程建设", ["光电产业园", "美国皇冠制罐", "台湾视创"]),
        ("力促海西研究院技术中心、三利浦宽辐偏光片等工程落地", ["海西研究院技术中心", "三利浦宽辐偏光片"]),
        ("年内恒力科研中心、天仙街邻里中心开工建设", ["恒力科研中心", "天仙街邻里中心"]),
        ("推动中南科技产业园项目落地开工", ["中南科技产业园项目"]),
        ("龙岗低空智能融合测试基地一期建成", ["龙岗低空智能融合测试基地一期"]),
        ("开工建设区文体活动中心,启用区青少年校外活动中心", ["区文体活动中心", "区青少年校外活动中心"]),
        ("方正微、平湖智创园项目建成", ["方正微", "平湖智创园项目"]),
    ],
)
def test_project_patterns(sentence: str, projects: list[str]) -> None:
    assert texts(sentence, "PROJECT") == projects


def test_investment_descriptor_is_outside_the_project() -> None:
    sentence = ("总投资130亿元的奇瑞未来一工厂及发动机项目、总投资 50 亿元的芜湖美的厨热智能家电产业园项目"
                "实现当年签约、当年开工")
    assert pairs(sentence) == [
        ("INDICATOR", "总投资"), ("VALUE", "130"), ("UNIT", "亿元"),
        ("PROJECT", "奇瑞未来一工厂及发动机项目"),
        ("VALUE", "50"), ("UNIT", "亿元"), ("PROJECT", "芜湖美的厨热智能家电产业园项目"),
    ]


def test_count_after_a_project_list_is_a_value() -> None:
    assert pairs("确保国药控股等13个重大项目开工建设") == [
        ("PROJECT", "国药控股"), ("VALUE", "13"), ("UNIT", "个"), ("INDICATOR", "重大项目")]


# --- text variants ---------------------------------------------------------------------------------


def test_full_width_digits_after_normalisation() -> None:
    written = "地区生产总值增长８％，达到２５３００亿元"
    normalised = unicodedata.normalize("NFKC", written).replace(",", "，")
    assert len(normalised) == len(written)
    assert pairs(normalised) == [
        ("INDICATOR", "地区生产总值"), ("VALUE", "8"), ("UNIT", "%"), ("VALUE", "25300"), ("UNIT", "亿元")]


def test_traditional_sentence_converted_to_simplified() -> None:
    source = "全年新簽約億元以上產業項目172個,製造業項目佔比達85%"
    sentence = opencc.OpenCC("t2s").convert(source)
    assert len(sentence) == len(source)
    assert pairs(sentence) == [
        ("INDICATOR", "新签约亿元以上产业项目"), ("VALUE", "172"), ("UNIT", "个"),
        ("INDICATOR", "制造业项目占比"), ("VALUE", "85"), ("UNIT", "%"),
    ]


def test_emoji_in_sentence() -> None:
    sentence = "🎉地区生产总值增长7%左右👍,新建道路16条🚗"
    assert pairs(sentence) == [
        ("INDICATOR", "地区生产总值"), ("VALUE", "7"), ("UNIT", "%"),
        ("INDICATOR", "新建道路"), ("VALUE", "16"), ("UNIT", "条"),
    ]
    assert tag(sentence)[0].start == 1


def test_placeholder_project_name_is_kept_but_not_its_number() -> None:
    spans = tag("推进XX炼化150万吨乙烯等重大产业项目建设")
    assert [(s.label, s.text) for s in spans] == [("PROJECT", "XX炼化150万吨乙烯")]


# --- seeds and corpus ------------------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"(?<=[。；;！？!?])|\n", text) if p.strip()]


def test_seed_000_main_targets() -> None:
    text = next((DATA / "seeds").glob("000_*.txt")).read_text(encoding="utf-8")
    sentence = next(s for s in _sentences(text) if "主要预期目标" in s)
    assert pairs(sentence) == [
        ("INDICATOR", "地区生产总值"), ("VALUE", "7"), ("UNIT", "%"),
        ("INDICATOR", "一般公共预算收入"), ("VALUE", "5"), ("UNIT", "%"),
        ("INDICATOR", "固定资产投资"), ("VALUE", "10"), ("UNIT", "%"),
        ("INDICATOR", "社会消费品零售总额"), ("VALUE", "7"), ("UNIT", "%"),
        ("INDICATOR", "实际使用外资"), ("VALUE", "1.1"), ("UNIT", "亿美元"),
    ]


def _corpus_sentences() -> list[str]:
    sentences: list[str] = []
    for path in sorted((DATA / "seeds").glob("*.txt")):
        sentences += _sentences(path.read_text(encoding="utf-8"))
    t2s = opencc.OpenCC("t2s")
    for line in (DATA / "corpus" / "local_excerpts.jsonl").read_text(encoding="utf-8").splitlines():
        sentences += _sentences(t2s.convert(json.loads(line)["text"]))
    return sentences


def test_spans_on_seeds_and_local_excerpts_are_well_formed() -> None:
    sentences = _corpus_sentences()
    tagged = RuleBackend().tag(sentences)
    assert len(tagged) == len(sentences)
    labels: set[str] = set()
    for sentence, spans in zip(sentences, tagged, strict=True):
        previous_end = 0
        for span in spans:
            assert span.label in LABELS
            assert sentence[span.start:span.end] == span.text
            assert span.text == span.text.strip() and span.text
            assert 0 < span.score <= 1
            assert span.start >= previous_end  # sorted, non-overlapping
            previous_end = span.end
            labels.add(span.label)
    assert labels == set(LABELS)


def test_every_unit_is_known_to_numbers() -> None:
    unknown = [u for u in UNIT_KINDS if unicodedata.normalize("NFKC", u) not in UNIT_WORDS]
    assert unknown == []


def test_tag_sentence_matches_backend() -> None:
    sentence = "新增规上工业企业6家,技改投资增长25%左右"
    assert tag_sentence(sentence) == RuleBackend().tag([sentence])[0]


def test_quoted_mask_marks_only_short_closed_quotations() -> None:
    from govtargets.rules.patterns import quoted_mask

    def marked(s: str) -> str:
        return "".join(c for c, m in zip(s, quoted_mask(s), strict=True) if m)

    assert marked("实施“六大工程”和《乡村振兴规划》") == "六大工程乡村振兴规划"
    assert marked('推进"532"发展战略') == "532"
    # A lost closing quote: nothing is marked, and a later pair still is.
    assert marked("“" + "长" * 30 + "“十四五”规划") == "十四五"
    assert marked("") == "" and marked("没有引号") == ""
