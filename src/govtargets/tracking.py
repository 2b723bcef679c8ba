"""Targets against outcomes: the target a report sets for its year, joined with the actual that the
next year's report gives for the same region and indicator.

Policy (what a policy researcher building a target-attainment dataset would decide):
- A report of year N sets targets for year N (`status == "target"`); the report of year N+1 reviews
  year N (`status == "actual"`). Region and year come from the record (document metadata).
- Indicators are compared after `normalize_indicator`: GDP / 国内生产总值 / 地区生产总值 / 生产总值 /
  经济增长 are one indicator, 规上 is 规模以上, scope words (全国, 全省, 全市, 全年 …) are dropped.
  Measures must agree (growth with growth, decline with decline, level with level), and so must unit
  families (% with %, 个百分点 with 个百分点, 亿元 with 万元 after scaling; see `unit_scale`).
- Only single-year figures count: values in a clause about averages or totals over several years
  (年均, 累计, 五年, 以来), part-year figures (上半年, 一季度, 1—5月份), values in a sentence
  that names another year (到2025年 in a 2021 report) and, when the source document is at hand, values
  in a paragraph about several years (五年来，… / 过去五年… / “十四五”时期… / a 年均 earlier in the
  paragraph: the first report of a new government term reviews five years before the last one) are
  neither targets nor actuals here.
- Indicator names of one or two Chinese characters (比重, 支出, 人数, 每人) say too little about what
  is measured to be matched across reports; such records are not tracked.
- When the N+1 report gives several actuals for one target, the first in document order is used: the
  review's headline figure comes before its restatements.
- Met or missed, by the target's comparator, on the values as written (a decline target compares
  decline magnitudes):
  `>=` actual ≥ target; `>` actual > target; `<=` actual ≤ target; `<` actual < target;
  `~` (左右, 约) actual ≥ target − tolerance, where the tolerance is 0.5 percentage points for
  percentages and 1% of the target for other units (6.5%左右 is met by 6.0% and above; the 2016
  report counts 6.9% against 2015's "7%左右" as 完成了全年主要目标任务, and the 2015 report 7.4%
  against "7.5%左右" likewise);
  `=` (a plain number in a plan) actual ≥ target, no tolerance;
  a range (value – value_max, e.g. 6%–6.5%) is met when the actual reaches the lower bound.
  For indicators where lower is better (unemployment and price rates, deficits, energy intensity,
  emissions; see `LOWER_IS_BETTER`) `~`, `=` and ranges are read as ceilings instead: actual ≤
  target + tolerance, actual ≤ target, actual ≤ value_max.
- No actual found (no N+1 report, or it does not give that indicator) → "no data".
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from govtargets.numbers import MAGNITUDES, to_base
from govtargets.records import Record

if TYPE_CHECKING:
    from govtargets.documents import Document

OUTCOMES: tuple[str, ...] = ("met", "missed", "no data")
TRACK_COLUMNS: tuple[str, ...] = (
    "region", "indicator", "measure", "unit", "target_year", "target_value", "target_value_max",
    "target_comparator", "target_doc", "target_sentence", "actual_year", "actual_value", "actual_doc",
    "actual_sentence", "outcome",
)

NATIONAL_REGION = "全国"
# Percentages: "about 6.5%" tolerates a shortfall of half a point.
TOLERANCE_POINTS = 0.5
# Other units (amounts, counts): "about 100亿元" tolerates a shortfall of 1%.
TOLERANCE_SHARE = 0.01
PERCENT_FAMILIES: frozenset[str] = frozenset({"percent", "percentage_point", "permille"})

# Scope and time words that say where or when, not what (stripped repeatedly from the front).
SCOPE_PREFIXES: tuple[str, ...] = (
    "全国", "全省", "全市", "全区", "全县", "全州", "全盟", "全旗", "全镇", "全乡", "我国", "我省", "我市",
    "我区", "我县", "全年", "今年", "年内", "本年",
)
# Words after the name that say "the change of" (guide: outside INDICATOR, but a linker or model may
# keep them); a level record with one of these is a growth record.
CHANGE_SUFFIXES: tuple[str, ...] = ("增长速度", "增长率", "增速", "增幅", "涨幅", "增长")
GDP = "GDP"
# Whole-name aliases after scope words and change suffixes are gone.
ALIASES: dict[str, str] = {
    "GDP": GDP, "国内生产总值": GDP, "地区生产总值": GDP, "生产总值": GDP, "经济增长": GDP,
    "经济增速": GDP, "经济总量": GDP, "经济": GDP,
    "人均国内生产总值": "人均GDP", "人均地区生产总值": "人均GDP", "人均生产总值": "人均GDP",
    "CPI": "居民消费价格", "居民消费价格指数": "居民消费价格", "消费价格": "居民消费价格",
    "居民消费价格总水平": "居民消费价格",
    "社会消费品零售额": "社会消费品零售总额", "社零总额": "社会消费品零售总额",
    "地方一般公共预算收入": "一般公共预算收入", "地方财政一般公共预算收入": "一般公共预算收入",
    "财政一般公共预算收入": "一般公共预算收入", "一般预算收入": "一般公共预算收入",
    "地方一般预算收入": "一般公共预算收入", "地方财政一般预算收入": "一般公共预算收入",
    "外贸进出口总额": "进出口总额", "外贸进出口": "进出口总额", "进出口": "进出口总额",
    "新增城镇就业": "城镇新增就业",
}
# Indicators for which a lower figure is the better outcome (matched as substrings).
LOWER_IS_BETTER: tuple[str, ...] = (
    "失业率", "居民消费价格", "物价", "赤字", "能耗", "排放", "浓度", "负债率", "债务率", "死亡率",
    "发生率", "事故",
)
# Clause cues of figures that are not for one whole year.
# (平均 alone is not one: 城镇调查失业率平均为5.1% is the year's average.)
NOT_ANNUAL: tuple[str, ...] = ("年均", "累计", "五年", "以来", "上半年", "下半年", "季度", "月份", "前两年")
# Paragraph openings about several years (五年来, 过去五年, 今后五年, 改革开放四十年来, “十三五”时期).
MULTI_YEAR_PARAGRAPH = re.compile(
    r"(?:过去|今后|未来|近|这)[二两三四五六七八九十几]+年|[二两三四五六七八九十]年(?:来|间|里)"
    r"|十[一二三四五六七八九]五”?(?:时期|期间|以来|规划)"
)
CLAUSE_BREAKS = re.compile(r"[，,；;：:。！？!?]")
YEAR_MENTION = re.compile(r"((?:19|20)\d{2})\s*年")
EPSILON = 1e-9


def normalize_region(region: str | None, level: str | None = None) -> str | None:
    """The region key; national reports are 全国 whatever their metadata calls them."""
    region = unicodedata.normalize("NFKC", region).strip() if region else ""
    if region in ("中国", "中华人民共和国", "国务院", "national") or (not region and level == "national"):
        return NATIONAL_REGION
    return region or None


def normalize_indicator(indicator: str, measure: str | None = None) -> tuple[str, str | None]:
    """(canonical indicator, measure): the key under which targets and actuals are matched."""
    name = unicodedata.normalize("NFKC", indicator)
    name = re.sub(r"[\s\"'“”‘’《》「」]", "", name).upper().replace("规上", "规模以上")
    stripped = True
    while stripped:
        stripped = False
        for prefix in SCOPE_PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                name = name[len(prefix) :]
                stripped = True
    for suffix in CHANGE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            if measure in (None, "level"):
                measure = "growth"
            break
    return ALIASES.get(name, name), measure


def unit_scale(unit: str | None) -> tuple[str, float]:
    """(unit family, factor to the family's base): 亿元 → ("CNY", 1e8), % → ("percent", 1), 万 → ("", 1e4).

    Known units take numbers.to_base's base unit; an unknown unit is its text without the magnitude
    prefix (万套房 → 套房, ×1e4), so 万套房 and 套房 still compare."""
    if not unit:
        return "", 1.0
    factor, base = to_base(1.0, unit)
    assert factor is not None  # to_base keeps a value it is given
    if base is None:
        return "", factor
    if base != unit or factor != 1.0:
        return base, factor
    text = unicodedata.normalize("NFKC", unit).strip()
    while len(text) > 1 and text[0] in MAGNITUDES:
        factor *= MAGNITUDES[text[0]]
        text = text[1:]
    return text, factor


def lower_is_better(indicator: str) -> bool:
    return any(word in indicator for word in LOWER_IS_BETTER)


def judge(
    comparator: str | None, value: float, value_max: float | None, actual: float, *, tolerance: float,
    lower_better: bool = False,
) -> bool:
    """Whether `actual` meets a target (see the module docstring for the policy)."""
    if value_max is not None:
        return actual <= value_max + EPSILON if lower_better else actual >= value - EPSILON
    if comparator == ">=":
        return actual >= value - EPSILON
    if comparator == ">":
        return actual > value + EPSILON
    if comparator == "<=":
        return actual <= value + EPSILON
    if comparator == "<":
        return actual < value - EPSILON
    slack = tolerance if comparator == "~" else 0.0
    if lower_better:
        return actual <= value + slack + EPSILON
    return actual >= value - slack - EPSILON


@dataclass
class TrackRow:
    """One target and its outcome; field order is the CSV column order (TRACK_COLUMNS)."""

    region: str
    indicator: str
    measure: str | None
    unit: str | None
    target_year: int
    target_value: float
    target_value_max: float | None
    target_comparator: str | None
    target_doc: str
    target_sentence: str
    actual_year: int | None
    actual_value: float | None
    actual_doc: str | None
    actual_sentence: str | None
    outcome: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Entry:
    record: Record
    region: str
    year: int
    key: tuple[str, str, str | None, str]  # region, indicator, measure, unit family
    factor: float


def _sentence_prefix(record: Record) -> str:
    """The sentence up to the value (the part that says which period the number is about)."""
    value_span = record.spans.get("value")
    if not value_span:
        return record.sentence
    end = min(max(value_span[0] - record.sentence_start, 0), len(record.sentence))
    return record.sentence[:end]


def paragraph_before(record: Record, doc: Document) -> str:
    """The cleaned text of the record's paragraph up to its sentence, or "" when `doc` is not the
    document the record was extracted from (a different version of the file)."""
    clean = bisect_left(doc.offsets, record.sentence_start)
    if not doc.text.startswith(record.sentence, clean):
        return ""
    starts = [start for start, _ in doc.paragraphs]
    index = bisect_right(starts, clean) - 1
    if index < 0 or doc.paragraphs[index][1] < clean:
        return ""
    return doc.text[doc.paragraphs[index][0] : clean]


def is_annual(record: Record, year: int, paragraph: str = "") -> bool:
    """Whether the record's value is a figure for the single year `year` (see the module docstring);
    `paragraph` is the text of its paragraph before its sentence, if known."""
    prefix = _sentence_prefix(record)
    clause = CLAUSE_BREAKS.split(prefix)[-1]
    if any(cue in clause for cue in NOT_ANNUAL):
        return False
    # A paragraph that has already given yearly averages is summing up several years.
    if MULTI_YEAR_PARAGRAPH.search(paragraph + prefix) or "年均" in paragraph:
        return False
    return all(int(found) == year for found in YEAR_MENTION.findall(prefix))


def _entry(record: Record) -> _Entry | None:
    if record.kind != "target" or record.value is None or not record.indicator or record.year is None:
        return None
    region = normalize_region(record.region, record.level)
    if region is None:
        return None
    indicator, measure = normalize_indicator(record.indicator, record.measure)
    if len(indicator) < 3 and not indicator.isascii():
        return None
    family, factor = unit_scale(record.unit)
    return _Entry(record, region, record.year, (region, indicator, measure, family), factor)


def _position(record: Record) -> tuple[str, int]:
    value_span = record.spans.get("value")
    return record.doc, value_span[0] if value_span else record.sentence_start


def untrackable(records: list[Record]) -> int:
    """How many target-status value records lack a region, year or specific indicator (not tracked)."""
    return sum(1 for r in records if r.kind == "target" and r.status == "target" and r.value is not None
               and _entry(r) is None)


def _tolerance(family: str, target: float) -> float:
    return TOLERANCE_POINTS if family in PERCENT_FAMILIES else abs(target) * TOLERANCE_SHARE


def track(records: list[Record], documents: Mapping[str, Document] | None = None) -> list[TrackRow]:
    """Every distinct target with the actual from the next year's report and its outcome.

    `documents` (by `Document.path`, i.e. `Record.doc`) are the source documents when at hand: they
    give each record its paragraph, so figures in a paragraph about several years are left out."""
    documents = documents or {}

    def annual(entry: _Entry, year: int) -> bool:
        doc = documents.get(entry.record.doc)
        return is_annual(entry.record, year, paragraph_before(entry.record, doc) if doc else "")

    entries = sorted((e for e in map(_entry, records) if e is not None), key=lambda e: _position(e.record))
    actuals: dict[tuple[tuple[str, str, str | None, str], int], list[_Entry]] = {}
    for entry in entries:
        if entry.record.status == "actual":
            actuals.setdefault((entry.key, entry.year), []).append(entry)
    rows: list[TrackRow] = []
    seen: set[tuple[object, ...]] = set()
    for target in (e for e in entries if e.record.status == "target"):
        record = target.record
        if not annual(target, target.year):
            continue
        value = record.value
        assert value is not None  # _entry keeps only records with a value
        identity = (target.key, target.year, value * target.factor,
                    None if record.value_max is None else record.value_max * target.factor, record.comparator)
        if identity in seen:
            continue
        seen.add(identity)
        region, indicator, measure, family = target.key
        found = next((a for a in actuals.get((target.key, target.year + 1), [])
                      if annual(a, target.year)), None)
        outcome = "no data"
        if found is not None and found.record.value is not None:
            scaled_max = None if record.value_max is None else record.value_max * target.factor
            met = judge(record.comparator, value * target.factor, scaled_max,
                        found.record.value * found.factor,
                        tolerance=_tolerance(family, value * target.factor),
                        lower_better=measure != "decline" and lower_is_better(indicator))
            outcome = "met" if met else "missed"
        rows.append(TrackRow(
            region=region, indicator=indicator, measure=measure, unit=record.unit, target_year=target.year,
            target_value=value, target_value_max=record.value_max, target_comparator=record.comparator,
            target_doc=record.doc, target_sentence=record.sentence,
            actual_year=found.year if found else None,
            actual_value=found.record.value if found else None,
            actual_doc=found.record.doc if found else None,
            actual_sentence=found.record.sentence if found else None,
            outcome=outcome,
        ))
    rows.sort(key=lambda row: (row.region, row.indicator, row.measure or "", row.target_year))
    return rows
