"""Numbers and units: the text of one VALUE span → float(s); a UNIT → its base unit.

`parse_value` only ever sees the text of a VALUE span. Words around the number (多, 余, 以上, 左右,
两位数's 位数 …) are the linker's business, so anything that is not a number raises ValueError.

Decisions (see annotations/GUIDE.md §1b):
- A range (3-5, 3～5, 4至5, 一至两, 6%-6.5%) gives (lower, upper); a magnitude written once after the
  upper bound applies to both ends (1-1.5万 → 10000, 15000).
- Two adjacent consecutive Chinese digits are an approximate range (三四 → 3, 4; 七八 → 7, 8), as in
  三四个; other runs of bare digits are read digit by digit the way cn2an does (二〇二三 → 2023).
- A bare magnitude is the number it names: 千 → 1000 (上千万 → VALUE 千, UNIT 万), 万 → 10000, 千万 → 1e7.
- 半 / 一半 → 0.5. X分之Y → Y/X (三分之一 → 0.333…).
- 成 (tenths) is a unit: UNIT 成 converts to percent (三成 → 30 percent). If an annotator left 成
  inside the VALUE (三成), the value is the number of tenths (3), as if 成 had been tagged as UNIT.
- A percent sign (or a leading 百分之) left inside a VALUE is ignored: the value is the percent number,
  the same number the record gets when the sign is tagged as UNIT (linking reads the unit from it).
- Placeholders (xx, XX, x.x) and vague magnitudes (两位数, 数十, 几, 若干) are not numbers.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

import cn2an

# Traditional forms that may survive in raw VALUE/UNIT text (callers may pass text as written); cn2an
# converts numerals too, but the checks below (magnitudes, character set, unit lookup) run first.
_TRADITIONAL = str.maketrans({
    "萬": "万", "億": "亿", "兩": "两", "點": "点", "〇": "零", "○": "零", "噸": "吨", "畝": "亩",
    "個": "个", "項": "项", "戶": "户", "場": "场", "臺": "台", "輛": "辆", "間": "间", "張": "张",
    "處": "处", "隻": "只", "頭": "头", "標": "标", "準": "准", "時": "时", "歲": "岁", "週": "周",
    "棟": "栋", "種": "种", "類": "类", "冊": "册", "門": "门", "條": "条", "頃": "顷", "韆": "千",
})

MAGNITUDES: dict[str, int] = {
    "十": 10,
    "百": 100,
    "千": 1000,
    "万": 10**4,
    "十万": 10**5,
    "百万": 10**6,
    "千万": 10**7,
    "亿": 10**8,
    "十亿": 10**9,
    "百亿": 10**10,
    "千亿": 10**11,
    "万亿": 10**12,
}

_CN_DIGIT_VALUES = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER_CHARS = set("零一二两三四五六七八九十百千万亿点壹贰叁肆伍陆柒捌玖拾佰仟")
_ARABIC = re.compile(r"^(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?P<mag>[十百千万亿]*)$")
_RANGE_SEPARATOR = re.compile(r"(?<=.)(?:——|—|–|-|~|〜|至|到)")
_ADJACENT_DIGITS = re.compile(r"^([一二两三四五六七八])([二两三四五六七八九])(?P<mag>[十百千万亿]*)$")
_MIDDLE_DOT = re.compile(r"(?<=\d)[·•・‧](?=\d)")
_FRACTION = re.compile(r"^(?P<num>\d+(?:\.\d+)?)/(?P<den>\d+(?:\.\d+)?)$")
_TRAILING_MAGNITUDE = re.compile(r"^(?P<body>.*?)(?P<mag>[十百千万亿]+)$")
_PLACEHOLDER = re.compile(r"[xX×＊*?？]")


def _normalise(text: str) -> str:
    # NFKC turns full-width digits, ％, ，, ． and ～ into their ASCII forms.
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).translate(_TRADITIONAL)
    # Older reports write the decimal point as a middle dot (19·5).
    return _MIDDLE_DOT.sub(".", s)


def _times(number: Decimal | float, factor: int | float) -> float:
    # Decimal keeps 1.1亿 at 110000000.0 instead of 110000000.00000001.
    return float(Decimal(str(number)) * Decimal(str(factor)))


def _magnitude(mag: str, text: str) -> int:
    if mag == "":
        return 1
    if mag not in MAGNITUDES:
        raise ValueError(f"not a number: {text!r} (unknown magnitude {mag!r})")
    return MAGNITUDES[mag]


def _parse_cn(body: str, text: str) -> float:
    try:
        result = cn2an.cn2an(body, "smart")
    except (ValueError, KeyError, IndexError, TypeError) as err:
        raise ValueError(f"not a number: {text!r}") from err
    return float(result)


def _parse_single(part: str, text: str) -> float:
    """One number (no range). `text` is the original span text, for error messages."""
    if not part:
        raise ValueError(f"not a number: {text!r}")
    if _PLACEHOLDER.search(part):
        raise ValueError(f"not a number: {text!r} is a placeholder")
    sign = 1.0
    if part[0] in "-负":
        sign, part = -1.0, part[1:]
    elif part[0] == "+":
        part = part[1:]
    if part.startswith("百分之"):
        part = part[3:]
    if part.endswith("%"):
        part = part[:-1]
    if len(part) > 1 and part.endswith("成"):
        part = part[:-1]
    if not part:
        raise ValueError(f"not a number: {text!r}")

    fraction = _FRACTION.match(part)
    if fraction:
        if float(fraction.group("den")) == 0:
            raise ValueError(f"not a number: {text!r} (zero denominator)")
        return sign * float(fraction.group("num")) / float(fraction.group("den"))
    arabic = _ARABIC.match(part)
    if arabic:
        number = Decimal(arabic.group("num").replace(",", ""))
        return sign * _times(number, _magnitude(arabic.group("mag"), text))
    if part in MAGNITUDES:
        return sign * float(MAGNITUDES[part])
    if part in ("半", "一半"):
        return sign * 0.5
    if "分之" in part:
        denominator, _, numerator = part.partition("分之")
        den = _parse_single(denominator, text)
        if den == 0:
            raise ValueError(f"not a number: {text!r} (zero denominator)")
        return sign * _parse_single(numerator, text) / den
    if any(ch not in _CN_NUMBER_CHARS and not ch.isdigit() and ch != "." for ch in part):
        raise ValueError(f"not a number: {text!r}")
    try:
        return sign * _parse_cn(part, text)
    except ValueError:
        # cn2an rejects a decimal before a magnitude (一点二万, 1.5千万 in words); split it off.
        tail = _TRAILING_MAGNITUDE.match(part)
        if tail is None or not tail.group("body"):
            raise
        body = _parse_single(tail.group("body"), text)
        return sign * _times(body, _magnitude(tail.group("mag"), text))


def _shared_magnitude(low: str, high: str) -> str:
    """The magnitude written once after the upper bound of a range that also scales the lower one."""
    tail = re.search(r"[十百千万亿]+$", high)
    if tail is None or tail.start() == 0:
        return ""
    if re.search(r"[十百千万亿]", low):
        # 一百至一百五十万: 十/百/千 in the lower bound are positional, only 万/亿 can be shared.
        big = re.search(r"[万亿]+$", high)
        return "" if big is None or re.search(r"[万亿]", low) else big.group()
    if re.search(r"[十百千]", high[: tail.start()]):
        big = re.search(r"[万亿]+$", high)
        return "" if big is None else big.group()
    return tail.group()


def parse_value(text: str) -> tuple[float, float | None]:
    """The text of one VALUE span → (value, value_max); value_max is None unless it is a range.

    Raises ValueError for text that is not a number (两位数, xx, x.x, empty text).
    """
    s = _normalise(text)
    if not s:
        raise ValueError(f"not a number: {text!r} is empty")
    if _PLACEHOLDER.search(s):
        raise ValueError(f"not a number: {text!r} is a placeholder")

    adjacent = _ADJACENT_DIGITS.match(s)
    if adjacent:
        low_digit = _CN_DIGIT_VALUES[adjacent.group(1)]
        high_digit = _CN_DIGIT_VALUES[adjacent.group(2)]
        if high_digit == low_digit + 1:
            factor = _magnitude(adjacent.group("mag"), text)
            return _times(low_digit, factor), _times(high_digit, factor)

    parts = _RANGE_SEPARATOR.split(s)
    if len(parts) == 1:
        return _parse_single(s, text), None
    if len(parts) != 2:
        raise ValueError(f"not a number: {text!r} (more than two range bounds)")
    low_text, high_text = (part.rstrip("%") for part in parts)
    low_text += _shared_magnitude(low_text, high_text)
    low = _parse_single(low_text, text)
    high = _parse_single(high_text, text)
    if low > high:
        low, high = high, low
    return low, high


def in_unit(text: str, unit: str, value: float | None, value_max: float | None) -> tuple[float | None, float | None]:
    """Re-read a Chinese numeral whose last digits belong to the magnitude of the unit after it.

    四亿零七百多万吨 is annotated VALUE 四亿零七百, UNIT 万吨 (多 stays outside): the number is
    4亿 + 0700万 = 40700 万吨, not 400000700 (and 七亿七千 alone is no numeral at all, `value` None).
    Other values come back unchanged.
    """
    s = _normalise(text)
    prefix = re.match(r"[十百千万亿]+", _normalise(unit))
    if value_max is not None or prefix is None or not re.search(r"[万亿]", s) or s[-1] in "万亿":
        return value, value_max
    scale = 1
    for char in prefix.group():
        scale *= MAGNITUDES[char]
    biggest = max(MAGNITUDES[c] for c in s if c in "万亿")
    if biggest <= scale:
        return value, value_max
    return _parse_single(s + prefix.group(), text) / scale, None


# ---------------------------------------------------------------------------------------------
# Units

_MONEY = {"元": "CNY", "元人民币": "CNY", "美元": "USD", "欧元": "EUR", "港元": "HKD", "港币": "HKD"}
# Measures that take a 万/亿 family prefix (万人, 亿千瓦时, 万平方米 …): unit → (factor, base unit).
_MEASURES: dict[str, tuple[float, str]] = {
    "人": (1, "person"),
    "名": (1, "person"),
    "人次": (1, "person_time"),
    "亩": (1, "mu"),
    "公顷": (1, "ha"),
    "平方公里": (1, "km2"),
    "平方千米": (1, "km2"),
    "平方米": (1, "m2"),
    "平米": (1, "m2"),
    "公里": (1, "km"),
    "千米": (1, "km"),
    "米": (1, "m"),
    "延米": (1, "m"),
    "吨": (1, "t"),
    "吨标准煤": (1, "tce"),
    "吨标煤": (1, "tce"),
    "千克": (1, "kg"),
    "公斤": (1, "kg"),
    "千瓦": (1, "kW"),
    "兆瓦": (1000, "kW"),
    "吉瓦": (10**6, "kW"),
    "千瓦时": (1, "kWh"),
    "度": (1, "kWh"),
    "立方米": (1, "m3"),
    "立方": (1, "m3"),
    "标箱": (1, "TEU"),
    "标准箱": (1, "TEU"),
}
# Counted things: the base unit is the measure word itself, with the magnitude applied.
_COUNT_WORDS: tuple[str, ...] = (
    "户", "家", "个", "项", "件", "套", "所", "座", "条", "次", "场", "场次", "批", "台", "辆", "艘",
    "架", "栋", "幢", "间", "张", "处", "只", "头", "株", "棵", "部", "本", "册", "篇", "种", "类",
    "支", "宗", "例", "起", "份", "片", "枚", "床", "门", "根", "列", "对", "批次", "辆次",
)
# Units with no magnitude prefix.
_PLAIN: dict[str, tuple[float, str | None]] = {
    "%": (1, "percent"),
    "百分之": (1, "percent"),
    "个百分点": (1, "percentage_point"),
    "百分点": (1, "percentage_point"),
    "‰": (1, "permille"),
    "千分之": (1, "permille"),
    "成": (10, "percent"),
    "倍": (1, "times"),
    # 翻一番 / 翻两番: the number of doublings, not a factor.
    "番": (1, "doubling"),
    "套(间)": (1, "套"),
    "岁": (1, "year"),
    "年": (1, "year"),
    "个月": (1, "month"),
    "周": (1, "week"),
    "天": (1, "day"),
    "日": (1, "day"),
    "个工作日": (1, "working_day"),
    "工作日": (1, "working_day"),
    "小时": (1, "hour"),
    "个小时": (1, "hour"),
    "分钟": (1, "minute"),
    "km": (1, "km"),
    "km2": (1, "km2"),
    "m2": (1, "m2"),
    "kW": (1, "kW"),
    "MW": (1000, "kW"),
    "GW": (10**6, "kW"),
    "kWh": (1, "kWh"),
    "TEU": (1, "TEU"),
}
_BIG_PREFIXES = ("万", "十万", "百万", "千万", "亿", "十亿", "百亿", "千亿", "万亿")


def _build_unit_bases() -> dict[str, tuple[float, str | None]]:
    bases: dict[str, tuple[float, str | None]] = {}
    # A bare magnitude as UNIT (6600多万, 上千万 → UNIT 万) scales a pure number: no base unit.
    for mag, factor in MAGNITUDES.items():
        if mag != "十":
            bases[mag] = (float(factor), None)
    for word, code in _MONEY.items():
        bases[word] = (1.0, code)
        for mag, factor in MAGNITUDES.items():
            bases[mag + word] = (float(factor), code)
    for word, (factor, code) in _MEASURES.items():
        bases[word] = (float(factor), code)
        for mag in _BIG_PREFIXES:
            bases[mag + word] = (float(factor * MAGNITUDES[mag]), code)
    for word in _COUNT_WORDS:
        bases[word] = (1.0, word)
        for mag in _BIG_PREFIXES:
            bases[mag + word] = (float(MAGNITUDES[mag]), word)
    for word, entry in _PLAIN.items():
        bases[word] = (float(entry[0]), entry[1])
    # Explicit units win over generated prefix combinations (千米 is km, not 1000 米).
    for word, (factor, code) in _MEASURES.items():
        bases[word] = (float(factor), code)
    return bases


UNIT_BASES: dict[str, tuple[float, str | None]] = _build_unit_bases()
"""Unit as written → (factor to the base unit, base unit); base unit None for a bare magnitude."""

UNIT_WORDS: tuple[str, ...] = tuple(sorted(UNIT_BASES, key=lambda w: (-len(w), w)))
"""Every unit string in UNIT_BASES, longest first. A bare magnitude (万, 千) and magnitude-prefixed
forms (十万人) are included, so a matcher should take the number greedily first (五十万人 → 五十 + 万人)."""


def _unit_key(unit: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", unit)).translate(_TRADITIONAL)


def to_base(value: float | None, unit: str | None) -> tuple[float | None, str | None]:
    """(value, unit as written) → (value in base units, base unit). Unknown units pass through."""
    number = None if value is None else float(value)
    if unit is None:
        return number, None
    entry = UNIT_BASES.get(_unit_key(unit))
    if entry is None:
        return number, unit
    factor, base = entry
    if number is None or factor == 1:
        return number, base
    return _times(number, factor), base


__all__ = ["MAGNITUDES", "UNIT_BASES", "UNIT_WORDS", "parse_value", "to_base"]
