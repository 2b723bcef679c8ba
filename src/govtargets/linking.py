"""The post-processor: one sentence's spans → target and project records (annotations/GUIDE.md §2).

Pure and total: no I/O, never raises on odd span sets. Offsets in `Record.spans` are relative to the
sentence given. Cue words (左右, 增长, 力争, 开工 …) are read from the sentence text outside the
labelled spans, so 增加 inside 【规上工业增加值】 or 完成 inside 【先进制造业完成投资】 is never a cue.

Decisions beyond the guide (kept consistent across the module):
- Overlapping spans: the higher score wins, then the longer span; the other is dropped.
- Clauses end at ，,；;：:。！？!? (a comma between digits is a thousands separator), and 其中 starts a new
  clause. A value's indicator is, in order: an INDICATOR right after the value and unit (建设100个
  【口袋公园】), the nearest INDICATOR before it in its clause, the first INDICATOR after it in its clause
  (两次下调【存款准备金率】), else the last INDICATOR of the earlier clauses — never one from before a 其中,
  so a sub-indicator's value is not merged into the parent.
- Coordinated indicators (joined by 、和与及) followed by 分别: values are distributed in order (extra
  values take the last indicator); a single value goes to every indicator. Without 分别, a coordinated
  group followed by exactly as many values is paired in order too (落地率、开工率同比提高25个百分点和
  18个百分点); any other case falls back to the nearest indicator.
- A range written with its unit on both bounds (6%-6.5%) is one record (6, 6.5), whether the upper
  bound was tagged as a second VALUE or left untagged; its value span then covers 6%-6.5.
- 控制在 alone is a ceiling (`<=`); a cue after the value beats 多/余, which beats a cue before it.
- measure: growth/decline cue words only count between the previous value of the clause and this
  value; a growth/decline verb followed by 到/至 (提高到, 降至, 延长至) states the level reached → level.
  A value with no cue of its own takes the measure of the value listed right before it (分别增长18%、
  30%; 提高25个百分点和18个百分点), or, when its indicator comes from an earlier clause, of the earlier
  value with the same indicator and base unit (增长7.5%左右，力争8% → both growth).
- Project action: the milestone verb(s) after the project list (等项目尽快投产达效 → 投产达效), else a
  milestone verb right before the list (新开工A、B项目 → 新开工). 建设 alone is ongoing work, not a
  milestone, so 加快A建设 and 破解A等项目建设难题 have action None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from govtargets.numbers import MAGNITUDES, in_unit, parse_value, to_base
from govtargets.records import LABELS, Record, Span

_MASK = "\x00"
_CLAUSE_BREAKS = frozenset("，,；;：:。！？!?")
_DIGIT_JOINERS = frozenset(",:")  # 1,200 and 10:30 do not end a clause
_SUB_INDICATOR = "其中"

# Gaps allowed between coordinated items (indicators before 分别, projects in a list).
_COORD_GAP = re.compile(r"(?:\s|、|和|与|及|以及|“|”|‘|’|\"|'|《|》)*")
# Projects in a list may carry their own attributes (A、总投资30亿元的B等项目落地); the gap is read
# from the masked text, where those spans are \x00.
_PROJECT_GAP = re.compile(r"[\s“”‘’\"'《》]*(?:(?:、|和|与|及|以及)[\s\x00的“”‘’\"'《》]*)?")
# What may stand between a value (with unit) and the counted noun that follows it.
_POST_NOUN_GAP = re.compile(r"\s*(?:以上|左右|以内|以下|多|余)?\s*的?\s*")
_APPROX_GAP = re.compile(r"\s*([多余])?\s*")
_RANGE_DASH = re.compile(r"\s*(?:-|－|~|～|〜|—|–|至|到)\s*")
_RAW_NUMBER = re.compile(r"\d+(?:\.\d+)?")

# --- comparator cues ------------------------------------------------------------------------------
_PREFIX_COMPARATORS: dict[str, str] = {
    "约": "~", "大约": "~", "近": "~", "接近": "~", "将近": "~",
    "超": ">", "超过": ">", "突破": ">", "逾": ">", "多于": ">", "高于": ">", "大于": ">",
    "不少于": ">=", "不低于": ">=", "至少": ">=", "最少": ">=",
    "不超过": "<=", "不超": "<=", "不高于": "<=", "最多": "<=", "至多": "<=", "控制在": "<=",
    "低于": "<", "少于": "<", "不到": "<", "不足": "<", "小于": "<",
}
_SUFFIX_COMPARATORS: dict[str, str] = {
    "左右": "~", "上下": "~", "以上": ">=", "以内": "<=", "之内": "<=", "以下": "<=",
}
# 上 only before a bare magnitude: 上千万 → VALUE 千, `>=`.
_MAGNITUDE_PREFIX = "上"

# --- measure cues ---------------------------------------------------------------------------------
_GROWTH = ("增长", "增速", "增幅", "涨幅", "提高", "上升", "增加", "提升", "上涨", "扩大", "延长", "攀升")
_DECLINE = (
    "下降", "降低", "减少", "压降", "降幅", "压减", "压缩", "削减", "缩减", "下调", "回落", "下滑", "缩短",
    "降",
)
# Nouns name a rate of change (增速7%), so 至 after them does not turn the number into a level.
_CHANGE_NOUNS = frozenset({"增速", "增幅", "涨幅", "降幅"})
_REACH = re.compile(r"[\s\x00]*[到至]")

# --- status cues ----------------------------------------------------------------------------------
_TARGET_CUES = (
    # 高于目标2.1个百分点, 完成目标: the number compares a result with the target, so no cue.
    # 好于预期, 超预期: a result compared with the expectation, not a plan.
    "(?<![于超出过])预期", "力争", "确保", "(?<![塌于超成到])目标", "计划", "争取", "力求", "(?<![苦过])努力", "拟",
    # 建成后可实现年产值104亿元: what a project will yield, not a result.
    "可实现", "可达到", "可达",
    "(?<![主重需必纲摘纪只])要(?![素点闻])", "将(?!近)",
)
_PLAN_NOUNS = frozenset({"目标", "预期"})
_ACHIEVED_RE = re.compile("实现|完成|达到|超过|超额|好于|高于|低于")
# Verbs of striving scope over a whole list of objectives, across commas.
_STRIVING = frozenset({"力争", "确保", "争取", "力求", "努力", "要", "将", "拟"})
# 预计 reports the estimate for the year just ended (预计完成, 预计全年, 初步预计).
_ACTUAL_STRONG_CUES = ("预计", "实际", "已经", "已")
# These verbs report a result only when nothing says it is a plan (力争实现, 确保完成 are targets).
_ACTUAL_WEAK_CUES = ("实现", "完成", "达到", "同比", "比上年", "较上年", "比去年", "较去年", "累计")

# --- project actions ------------------------------------------------------------------------------
_ACTIONS = (
    "开工建设", "新开工", "开工", "动工", "复工", "竣工", "完工", "主体完工", "建成", "投入使用", "投入运营",
    "投入生产", "交付使用", "投用", "投产", "达产", "达效", "试生产", "试运行", "投运", "运营", "开业",
    "通车", "并网", "交付", "签约", "落地", "设备进场", "进场", "封顶", "主体封顶", "启用", "入驻", "开园",
    "验收",
)


def _alternation(words: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so 开工建设 wins over 开工 and 不超过 over 超过.
    ordered = sorted(words, key=lambda w: -len(re.sub(r"\(.*?\)", "", w)))
    return re.compile("|".join(w if "(" in w else re.escape(w) for w in ordered))


_GROWTH_RE = _alternation(_GROWTH + _DECLINE)
_TARGET_RE = _alternation(_TARGET_CUES)
_ACTUAL_STRONG_RE = _alternation(_ACTUAL_STRONG_CUES)
_ACTUAL_WEAK_RE = _alternation(_ACTUAL_WEAK_CUES)
_ACTION_RE = _alternation(_ACTIONS)
_ACTION_CHAIN_RE = re.compile(f"并?(?:{_ACTION_RE.pattern})")
_ACTION_ORDER = sorted(_ACTIONS, key=len, reverse=True)
_PREFIX_ORDER = sorted(_PREFIX_COMPARATORS, key=len, reverse=True)
_SUFFIX_ORDER = sorted(_SUFFIX_COMPARATORS, key=len, reverse=True)

Cue = tuple[int, int]  # [start, end) in the sentence


@dataclass
class _Value:
    span: Span
    unit: Span | None
    value: float
    value_max: float | None
    start: int  # the value with its unit (a 百分之 unit comes first)
    end: int
    approx: Cue | None  # 多/余 between the number and its unit (6600多万)


@dataclass
class _Target:
    value: _Value
    indicator: Span | None
    inherited: bool  # indicator taken from an earlier clause
    comparator: str = "="
    comparator_cue: Cue | None = None
    own_prefix: tuple[str, Cue] | None = None
    own_suffix: tuple[str, Cue] | None = None
    measure: str = "level"
    measure_cue: Cue | None = None
    own_measure: bool = False


class _Text:
    """The sentence with span characters masked out, and its clauses."""

    def __init__(self, sentence: str, spans: list[Span]) -> None:
        self.sentence = sentence
        chars = list(sentence)
        for span in spans:
            chars[span.start : span.end] = _MASK * (span.end - span.start)
        self.masked = "".join(chars)
        self.clause: list[int] = []
        self.clause_starts: list[int] = [0]
        clause = 0
        for i, ch in enumerate(self.masked):
            if self.masked.startswith(_SUB_INDICATOR, i) and i > self.clause_starts[-1]:
                clause += 1
                self.clause_starts.append(i)
            self.clause.append(clause)
            if ch in _CLAUSE_BREAKS and not self._joins_digits(i):
                clause += 1
                self.clause_starts.append(i + 1)
        self.clause.append(clause)  # position len(sentence) belongs to the last clause
        self.clause_ends = [*self.clause_starts[1:], len(sentence)]
        self.sub_starts = [m.start() for m in re.finditer(_SUB_INDICATOR, self.masked)]

    def _joins_digits(self, i: int) -> bool:
        s = self.sentence
        return s[i] in _DIGIT_JOINERS and 0 < i < len(s) - 1 and s[i - 1].isdigit() and s[i + 1].isdigit()

    def clause_of(self, pos: int) -> int:
        return self.clause[min(max(pos, 0), len(self.clause) - 1)]

    def clause_start(self, pos: int) -> int:
        return self.clause_starts[self.clause_of(pos)]

    def clause_end(self, pos: int) -> int:
        return self.clause_ends[self.clause_of(pos)]

    def sub_floor(self, pos: int) -> int:
        """Start of the last 其中 at or before `pos`: nothing before it is inherited past it."""
        return max((s for s in self.sub_starts if s <= pos), default=0)


# ---------------------------------------------------------------------------------------------------
# spans


def _clean(sentence: str, spans: list[Span]) -> list[Span]:
    """Valid, non-overlapping spans in sentence order, text taken from the sentence."""
    valid = [s for s in spans if s.label in LABELS and 0 <= s.start < s.end <= len(sentence)]
    ranked = sorted(valid, key=lambda s: (-s.score, -(s.end - s.start), s.start))
    taken = [False] * len(sentence)
    kept: list[Span] = []
    for span in ranked:
        if any(taken[span.start : span.end]):
            continue
        taken[span.start : span.end] = [True] * (span.end - span.start)
        kept.append(Span(span.label, span.start, span.end, sentence[span.start : span.end], span.score))
    return sorted(kept, key=lambda s: s.start)


def _inner_unit(value: Span) -> Span | None:
    """A unit an annotator left inside the VALUE span (百分之八, 8%, 三成): parse_value ignores it."""
    text = value.text
    if text.startswith("百分之"):
        return Span("UNIT", value.start, value.start + 3, "百分之", value.score)
    if len(text) > 1 and text[-1] in "%％成":
        return Span("UNIT", value.end - 1, value.end, text[-1], value.score)
    return None


def _values(text: _Text, spans: list[Span]) -> list[_Value]:
    sentence = text.sentence
    units = [s for s in spans if s.label == "UNIT"]
    values: list[_Value] = []
    for span in spans:
        if span.label != "VALUE":
            continue
        number: float | None
        number_max: float | None
        try:
            number, number_max = parse_value(span.text)
        except ValueError:
            number, number_max = None, None
        unit: Span | None = None
        approx: Cue | None = None
        after = next((u for u in units if u.start >= span.end), None)
        if after is not None:
            gap = _APPROX_GAP.fullmatch(sentence, span.end, after.start)
            if gap is not None:
                unit = after
                if gap.group(1):
                    approx = (gap.start(1), gap.end(1))
        if unit is None:
            before = next((u for u in reversed(units) if u.end <= span.start), None)
            if (
                before is not None
                and before.text in ("百分之", "千分之")
                and not sentence[before.end : span.start].strip()
            ):
                unit = before
        if unit is None:
            unit = _inner_unit(span)
        elif unit.start >= span.end:
            try:
                number, number_max = in_unit(span.text, unit.text, number, number_max)
            except ValueError:
                pass
        if number is None:
            continue  # a VALUE that is no number is a tagging error: no record
        start = min(span.start, unit.start) if unit else span.start
        end = max(span.end, unit.end) if unit else span.end
        values.append(_Value(span, unit, number, number_max, start, end, approx))
    return _join_ranges(text, values)


def _join_ranges(text: _Text, values: list[_Value]) -> list[_Value]:
    """6%-6.5%: a range written with its unit on both bounds is one value (6, 6.5), whether the upper
    bound was tagged as its own VALUE or left untagged."""
    joined: list[_Value] = []
    k = 0
    while k < len(values):
        value = values[k]
        k += 1
        unit = value.unit
        dash = _RANGE_DASH.match(text.sentence, value.end)
        if unit is None or unit.end != value.end or value.value_max is not None or dash is None:
            joined.append(value)
            continue
        upper = values[k] if k < len(values) else None
        if upper is not None and upper.span.start == dash.end():
            if upper.unit is None or upper.unit.text != unit.text or upper.value_max is not None:
                joined.append(value)
                continue
            number, upper_span, upper_unit = upper.value, upper.span, upper.unit
            k += 1
        else:
            raw = _RAW_NUMBER.match(text.masked, dash.end())
            if raw is None or not text.masked.startswith(unit.text, raw.end()):
                joined.append(value)
                continue
            number = float(raw.group())
            upper_span = Span("VALUE", raw.start(), raw.end(), raw.group(), value.span.score)
            upper_unit = Span("UNIT", raw.end(), raw.end() + len(unit.text), unit.text, unit.score)
        if number < value.value:
            joined.append(value)
            continue
        start = value.span.start
        span = Span("VALUE", start, upper_span.end, text.sentence[start : upper_span.end],
                    min(value.span.score, upper_span.score))
        joined.append(_Value(span, upper_unit, value.value, number, value.start, upper_unit.end, None))
    return joined


def _chains(spans: list[Span], sentence: str, gap: re.Pattern[str]) -> list[list[Span]]:
    """Runs of spans joined only by coordination (A、B和C); `sentence` may be the masked text."""
    chains: list[list[Span]] = []
    for span in spans:
        if chains and gap.fullmatch(sentence, chains[-1][-1].end, span.start):
            chains[-1].append(span)
        else:
            chains.append([span])
    return chains


# ---------------------------------------------------------------------------------------------------
# indicators


def _values_after(text: _Text, pos: int, values: list[_Value], indicators: list[Span]) -> list[int]:
    """Indexes of the values after `pos` in its clause, up to the next INDICATOR."""
    clause = text.clause_of(pos)
    stop = next((i.start for i in indicators if i.start >= pos), len(text.sentence))
    return [k for k, v in enumerate(values) if pos <= v.start < stop and text.clause_of(v.start) == clause]


def _distribute(
    text: _Text, values: list[_Value], indicators: list[Span]
) -> tuple[dict[int, list[Span]], list[list[int]]]:
    """Coordinated indicators → values (分别 and paired lists); also the 分别 value lists."""
    assigned: dict[int, list[Span]] = {}
    respectively: list[list[int]] = []
    chains = _chains(indicators, text.sentence, _COORD_GAP)
    for match in re.finditer("分别", text.masked):
        pos = match.start()
        listed = _values_after(text, match.end(), values, indicators)
        if not listed:
            continue
        respectively.append(listed)
        # The coordinated indicators are those just before 分别, even across a comma
        # (A、B完成100亿元、50亿元，分别增长8%、9%), but never from before a 其中.
        floor = text.sub_floor(pos)
        before = [n for n, chain in enumerate(chains) if floor <= chain[0].start and chain[-1].end <= pos]
        owner = before[-1] if before else None
        if owner is None or len(chains[owner]) < 2:
            continue
        group = chains[owner]
        if len(listed) == 1:
            assigned[listed[0]] = list(group)
        else:
            for j, k in enumerate(listed):
                assigned[k] = [group[min(j, len(group) - 1)]]
    for group in chains:
        if len(group) < 2:
            continue
        listed = _values_after(text, group[-1].end, values, indicators)
        if len(listed) == len(group) and not any(k in assigned for k in listed):
            for indicator, k in zip(group, listed, strict=True):
                assigned[k] = [indicator]
    return assigned, respectively


def _indicator(text: _Text, value: _Value, indicators: list[Span]) -> tuple[Span | None, bool]:
    """(indicator, inherited from an earlier clause) for a value outside any coordinated list."""
    clause = text.clause_of(value.start)
    same = [i for i in indicators if text.clause_of(i.start) == clause]
    following = [i for i in same if i.start >= value.end]
    if following and _POST_NOUN_GAP.fullmatch(text.sentence, value.end, following[0].start):
        return following[0], False
    preceding = [i for i in same if i.end <= value.start]
    if preceding:
        return preceding[-1], False
    if following:
        return following[0], False
    floor = text.sub_floor(value.start)
    start = text.clause_start(value.start)
    earlier = [i for i in indicators if floor <= i.start and i.end <= start]
    return (earlier[-1], True) if earlier else (None, False)


# ---------------------------------------------------------------------------------------------------
# cues


def _prefix_cue(text: _Text, value: _Value) -> tuple[str, Cue] | None:
    lo = text.clause_start(value.start)
    before = text.masked[lo : value.start].rstrip()
    end = lo + len(before)
    for word in _PREFIX_ORDER:
        if before.endswith(word):
            return _PREFIX_COMPARATORS[word], (end - len(word), end)
    bare = re.sub(r"\s+", "", value.span.text) in MAGNITUDES
    if bare and before.endswith(_MAGNITUDE_PREFIX):
        return ">=", (end - 1, end)
    return None


def _suffix_cue(text: _Text, value: _Value) -> tuple[str, Cue] | None:
    hi = text.clause_end(value.end)
    after = text.masked[value.end : hi]
    start = value.end + len(after) - len(after.lstrip())
    after = after.lstrip()
    for word in _SUFFIX_ORDER:
        if after.startswith(word) and not (word == "上下" and after.startswith("上下游")):
            return _SUFFIX_COMPARATORS[word], (start, start + len(word))
    return None


def _comparator(text: _Text, target: _Target) -> None:
    value = target.value
    suffix = _suffix_cue(text, value)
    prefix = _prefix_cue(text, value)
    target.own_suffix, target.own_prefix = suffix, prefix
    approx = value.approx
    if approx is None and (value.unit is None or value.unit.text in MAGNITUDES):
        # 多/余 after a bare number or a bare magnitude: 100多, 3万余.
        nxt = value.end
        if nxt < len(text.masked) and text.masked[nxt] in "多余":
            approx = (nxt, nxt + 1)
    if suffix:
        target.comparator, target.comparator_cue = suffix
    elif approx:
        target.comparator, target.comparator_cue = ">", approx
    elif prefix:
        target.comparator, target.comparator_cue = prefix


def _measure(text: _Text, target: _Target, lo: int) -> None:
    value = target.value
    found = list(_GROWTH_RE.finditer(text.masked, lo, value.start))
    if not found:
        return
    # A change noun names a rate (居民消费价格涨幅回落到2.6%): the number is that rate, whatever verb follows.
    nouns = [m for m in found if m.group() in _CHANGE_NOUNS]
    cue = nouns[-1] if nouns else found[-1]
    target.own_measure = True
    word = cue.group()
    reach = None if word in _CHANGE_NOUNS else _REACH.match(text.masked, cue.end(), value.start)
    if reach is not None:
        target.measure = "level"
        # 提高到 is the cue; in 提高【城镇化率】至 the words are apart, so no single cue span.
        target.measure_cue = (cue.start(), reach.end()) if len(reach.group()) == 1 else None
        return
    target.measure = "decline" if word in _DECLINE else "growth"
    target.measure_cue = (cue.start(), cue.end())


def _status(text: _Text, pos: int, section: str | None) -> tuple[str, Cue | None]:
    """target/actual for something that ends at `pos`.

    Precedence: the nearest cue before `pos` in the sentence decides — a target cue (预期, 力争, 确保,
    目标 …) or a strong actual cue (预计, 实际, 已经) always; a weak actual verb (实现, 完成, 达到, 同比 …)
    is ignored in a plan section, and outside a review section it yields to a target cue that governs
    it: one earlier in its clause (力争实现, 确保完成), one in a heading clause ending with a colon
    (主要预期目标是：…比上年增长7%), or a striving verb anywhere before it (力争A增幅16%以上，…，B实现增长
    60%以上). A nominal 目标 in another clause does not govern (主要目标完成情况 2023年上半年，全区实现…).
    No cue → the section's default: plan → target, review → actual, unknown → target.
    """
    head = text.masked[:pos]
    cues: list[tuple[int, int, str]] = []
    cues += [
        (m.start(), m.end(), "target") for m in _TARGET_RE.finditer(head)
        if not (section == "review" and _achieved_plan(text, m.start(), m.group()))
    ]
    cues += [(m.start(), m.end(), "actual") for m in _ACTUAL_STRONG_RE.finditer(head)]
    if section != "plan":
        cues += [(m.start(), m.end(), "weak") for m in _ACTUAL_WEAK_RE.finditer(head)]
    if not cues:
        return ("actual" if section == "review" else "target"), None
    start, end, kind = max(cues, key=lambda c: (c[1], c[1] - c[0]))
    if kind == "weak" and section != "review":
        governing = [
            c for c in cues
            if c[2] == "target" and c[1] <= start
            and (
                text.clause_of(c[0]) == text.clause_of(start)
                or _is_heading(text, c[0])
                or text.masked[c[0] : c[1]] in _STRIVING
            )
        ]
        if governing:
            g_start, g_end, _ = governing[-1]
            return "target", (g_start, g_end)
    return ("target" if kind == "target" else "actual"), (start, end)


def _achieved_plan(text: _Text, pos: int, word: str) -> bool:
    """In a review, 目标/预期 as the object of an achievement verb (全面实现年初确定的主要目标) names last
    year's plan, not a goal: the numbers after it are results. 年初预期目标是… still restates a target."""
    if word not in _PLAN_NOUNS:
        return False
    return _ACHIEVED_RE.search(text.masked, text.clause_start(pos), pos) is not None


def _is_heading(text: _Text, pos: int) -> bool:
    end = text.clause_end(pos)
    return end > 0 and text.sentence[end - 1] in ":："


# ---------------------------------------------------------------------------------------------------
# records


def _joiner(text: _Text, prev: _Target, target: _Target) -> str | None:
    """The word joining two listed values (、 和 与 及), if only that stands between them."""
    gap_start = prev.own_suffix[1][1] if prev.own_suffix else prev.value.end
    gap_end = target.own_prefix[1][0] if target.own_prefix else target.value.start
    gap = text.sentence[gap_start:gap_end].strip()
    return gap if gap in ("、", "和", "与", "及", "以及") else None


def _share_comparators(text: _Text, listed: list[_Target]) -> None:
    """分别 lists: a cue shared by values joined with 、; values joined by 和/与 keep their own."""
    runs: list[list[_Target]] = []
    for target in listed:
        if runs and _joiner(text, runs[-1][-1], target) == "、":
            runs[-1].append(target)
        else:
            runs.append([target])
    for run in runs:
        # A trailing cue (分别达60个、50个以上) first, then a leading one (分别超过60个、50个).
        for cue in (run[-1].own_suffix, run[0].own_prefix):
            if cue is None:
                continue
            for target in run:
                if target.comparator_cue is None:
                    target.comparator, target.comparator_cue = cue


def _target_record(sentence: str, target: _Target, status: tuple[str, Cue | None]) -> Record:
    value = target.value
    unit_text = value.unit.text if value.unit else None
    base_value, base_unit = to_base(value.value, unit_text)
    spans: dict[str, list[int]] = {"value": [value.span.start, value.span.end]}
    scores = [value.span.score]
    if target.indicator is not None:
        spans["indicator"] = [target.indicator.start, target.indicator.end]
        scores.append(target.indicator.score)
    if value.unit is not None:
        spans["unit"] = [value.unit.start, value.unit.end]
        scores.append(value.unit.score)
    for key, cue in (("comparator", target.comparator_cue), ("measure", target.measure_cue),
                     ("status", status[1])):
        if cue is not None:
            spans[key] = [cue[0], cue[1]]
    return Record(
        kind="target",
        sentence=sentence,
        indicator=target.indicator.text if target.indicator else None,
        value=value.value,
        value_max=value.value_max,
        unit=unit_text,
        comparator=target.comparator,
        measure=target.measure,
        status=status[0],
        base_value=base_value,
        base_unit=base_unit,
        spans=spans,
        confidence=min(scores),
    )


def _targets(text: _Text, spans: list[Span], section: str | None) -> list[tuple[int, int, Record]]:
    indicators = [s for s in spans if s.label == "INDICATOR"]
    values = _values(text, spans)
    assigned, respectively = _distribute(text, values, indicators)

    per_value: list[list[_Target]] = []
    for k, value in enumerate(values):
        if k in assigned:
            group = [_Target(value, indicator, False) for indicator in assigned[k]]
        else:
            indicator, inherited = _indicator(text, value, indicators)
            group = [_Target(value, indicator, inherited)]
        clause = text.clause_of(value.start)
        previous = values[k - 1] if k > 0 and text.clause_of(values[k - 1].start) == clause else None
        lo = previous.end if previous else text.clause_start(value.start)
        for target in group:
            _comparator(text, target)
            _measure(text, target, lo)
        per_value.append(group)

    for listed in respectively:
        for j in range(len(per_value[listed[0]])):
            _share_comparators(text, [per_value[k][min(j, len(per_value[k]) - 1)] for k in listed])
    # A listed value without a change word shares the one of the value before it
    # (分别增长18%、30%; 提高25个百分点和18个百分点).
    for k in range(1, len(per_value)):
        for j, target in enumerate(per_value[k]):
            prev = per_value[k - 1][min(j, len(per_value[k - 1]) - 1)]
            if not target.own_measure and _joiner(text, prev, target) is not None:
                target.measure, target.measure_cue = prev.measure, prev.measure_cue
                target.own_measure = prev.own_measure

    out: list[tuple[int, int, Record]] = []
    done: list[Record] = []
    for group in per_value:
        for target in group:
            if target.inherited and not target.own_measure:
                _inherit_measure(target, done)
            record = _target_record(text.sentence, target, _status(text, target.value.start, section))
            done.append(record)
            anchor = target.indicator.start if target.indicator else -1
            out.append((target.value.span.start, anchor, record))
    return out


def _inherit_measure(target: _Target, done: list[Record]) -> None:
    """增长7.5%左右，力争8%: the second value is a growth rate like the first one."""
    if target.indicator is None:
        return
    key = [target.indicator.start, target.indicator.end]
    unit = target.value.unit.text if target.value.unit else None
    base = to_base(target.value.value, unit)[1]
    for record in reversed(done):
        if record.spans.get("indicator") != key or record.base_unit != base:
            continue
        if record.measure in ("growth", "decline"):
            target.measure = record.measure
            cue = record.spans.get("measure")
            target.measure_cue = (cue[0], cue[1]) if cue else None
        return


def _action(text: _Text, chain: list[Span], spans: list[Span]) -> Cue | None:
    first, last = chain[0], chain[-1]
    limit = min(
        text.clause_end(last.end),
        next((s.start for s in spans if s.start >= last.end), len(text.sentence)),
    )
    found = _ACTION_RE.search(text.masked, last.end, limit)
    if found is not None:
        start, end = found.start(), found.end()
        # Consecutive milestones form one action: 竣工投用, 投产达效, 建成并投产.
        while (more := _ACTION_CHAIN_RE.match(text.masked, end, limit)) is not None:
            end = more.end()
        return start, end
    lo = text.clause_start(first.start)
    end = start = lo + len(text.masked[lo : first.start].rstrip())
    while (word := next((w for w in _ACTION_ORDER if text.masked.endswith(w, lo, start)), None)) is not None:
        start -= len(word)
    return (start, end) if start < end else None


def _projects(text: _Text, spans: list[Span], section: str | None) -> list[tuple[int, int, Record]]:
    projects = [s for s in spans if s.label == "PROJECT"]
    out: list[tuple[int, int, Record]] = []
    for chain in _chains(projects, text.masked, _PROJECT_GAP):
        action = _action(text, chain, spans)
        status, status_cue = _status(text, action[1] if action else chain[-1].end, section)
        for project in chain:
            record_spans: dict[str, list[int]] = {"project": [project.start, project.end]}
            if action is not None:
                record_spans["action"] = [action[0], action[1]]
            if status_cue is not None:
                record_spans["status"] = [status_cue[0], status_cue[1]]
            record = Record(
                kind="project",
                sentence=text.sentence,
                project=project.text,
                action=text.sentence[action[0] : action[1]] if action else None,
                status=status,
                spans=record_spans,
                confidence=project.score,
            )
            out.append((project.start, 0, record))
    return out


def link(sentence: str, spans: list[Span], section: str | None = None) -> list[Record]:
    """One sentence's spans (sentence-relative) → target records (one per VALUE) and project records.

    `section` is the kind of report section the sentence is in: "plan", "review" or None (unknown).
    """
    if not sentence or not spans:
        return []
    kind = section if section in ("plan", "review") else None
    clean = _clean(sentence, spans)
    text = _Text(sentence, clean)
    anchored = _targets(text, clean, kind) + _projects(text, clean, kind)
    anchored.sort(key=lambda item: (item[0], item[1]))
    return [record for _, _, record in anchored]


__all__ = ["link"]
