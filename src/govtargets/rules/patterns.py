"""Pattern matching for the rule backend: values and units, indicators, projects.

Every finder works on one normalised sentence and returns sentence-relative character offsets.
The rules follow annotations/GUIDE.md §1 and §1b and prefer missing a span to emitting a wrong one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from govtargets.rules import lexicon as lx

# Characters that end a clause for the purpose of finding an indicator or a project list.
CLAUSE_PUNCT = frozenset(",，;；:：。!！?？、 \t\u3000\n")
LIST_BREAK = frozenset(",，;；:：。!！?？ \t\u3000\n")
OPEN_BRACKETS = "(（“‘\"《【"
CLOSE_TO_OPEN = {")": "(", "）": "（", "”": "“", "’": "‘", "\"": "\"", "》": "《", "】": "【"}

CJK = r"\u4e00-\u9fff"
ARABIC = r"\d+(?:,\d{3})*(?:\.\d+)?"
ARABIC_RANGE = rf"{ARABIC}(?:(?:-|~|～|—|－|至|到){ARABIC})?"
CN_DIGIT_CHARS = "零〇一二两三四五六七八九十百千"
CN_NUMBER = rf"[{CN_DIGIT_CHARS}]+(?:点[零〇一二三四五六七八九]+)?"
CN_RANGE = rf"{CN_NUMBER}(?:(?:至|到){CN_NUMBER})?"

# A well-formed Chinese numeral (excludes year spellings such as 一九八二 and names such as 十四五).
_CN_WELL_FORMED = re.compile(
    r"^(?:[一二两三四五六七八九]?千)?(?:[零〇]?[一二两三四五六七八九]?百)?(?:[零〇]?[一二三四五六七八九]?十)?"
    r"[零〇]?[一二两三四五六七八九]?(?:点[零〇一二三四五六七八九]+)?$"
)


def _unit_table() -> dict[str, str]:
    """unit text → kind (measure, count, plain, duration, bare)."""
    table: dict[str, str] = {}
    for base in lx.MEASURE_UNITS + lx.COUNT_UNITS:
        kind = "measure" if base in lx.MEASURE_UNITS else "count"
        table[base] = kind
        if base.isascii():
            continue
        # 百/千 prefix only money (3千元); with other units they are almost always misparses.
        for mag in lx.MAGNITUDES if base in lx.MONEY_UNITS else lx.LARGE_MAGNITUDES:
            table.setdefault(mag + base, kind)
    for unit in lx.BARE_MAGNITUDES:
        table.setdefault(unit, "bare")
    for unit in lx.DURATION_UNITS:
        table[unit] = "duration"
    for unit in lx.PLAIN_UNITS:
        table[unit] = "plain"
    return table


UNIT_KINDS: dict[str, str] = _unit_table()
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNIT_KINDS, key=len, reverse=True))
VALUE_RE = re.compile(
    rf"(?P<pct>百分之)(?P<pnum>{CN_RANGE}|{ARABIC_RANGE})"
    rf"|(?P<num>{ARABIC_RANGE}|{CN_RANGE})(?P<approx>多|余)?(?P<sp> ?)(?P<unit>{_UNIT_ALT})?"
)

# What may follow a measure unit when the number is a quantity (anything else makes the number a
# class threshold or part of a name: 亿元以上工业项目, 30亿元企业, 20万吨啤酒).
_MEASURE_FOLLOWERS: tuple[str, ...] = (
    "以上", "以下", "以内", "左右", "上下", "的", "和", "与", "及", "增长", "下降", "提高", "提升", "增加",
    "减少", "同比", "比", "较", "占", "分别", "其中", "即", "后", "就", "了", "达", "目标", "大关", "关口",
    "台阶", "规模", "水平", "高于", "低于", "实现", "完成", "用于", "为", "是", "同口径", "按", "年均",
    "增速", "增幅", "涨幅", "降幅", "人民币", "在", "到", "至", "等", "并", "且", "而", "也", "均", "各",
    "已", "将", "仍", "还", "再", "又", "(", "（", "、", "/", "，", "。", "；", "：", "”", "\"", "！",
    "？", "带动", "拉动", "投资", "当年", "年内", "力争", "确保", "预计", "预期", "创", "居",
)

# Words that cut a counted noun on its right (59个【产业类和基建类项目】落地开工).
_FORWARD_STOPS: tuple[str, ...] = (
    "的", "建设", "开工", "落地", "投产", "竣工", "投用", "投入", "建成", "排查", "整改", "整治", "改造",
    "提升", "创建", "创成", "争创", "入选", "获评", "获批", "常态化", "到", "在", "实现", "完成", "达到",
    "纳入", "进入", "开展", "参与", "覆盖", "运营", "上线", "挂牌", "认定", "通过", "消劣", "清淤",
    "标准化", "再开发", "治理", "提质", "扩容", "升级", "签约", "开通", "启用", "使用", "达", "与",
    "并", "将", "已", "全部", "全面", "基本", "陆续", "如期", "顺利", "年内", "等", "以上", "左右",
    "以内", "共", "累计", "分别", "均", "获", "被", "成为", "作为", "用于", "面积", "危旧房治理", "覆绿",
    "整合", "合作", "对接", "发展",
)


@dataclass(frozen=True)
class ValueHit:
    """One VALUE with its UNIT (the unit may precede the value: 百分之八)."""

    value: tuple[int, int]
    unit: tuple[int, int]
    kind: str  # unit kind: measure, count, plain, duration, bare, pct
    chinese: bool

    @property
    def start(self) -> int:
        return min(self.value[0], self.unit[0])

    @property
    def end(self) -> int:
        return max(self.value[1], self.unit[1])


# --- helpers -----------------------------------------------------------------------------------


def quoted_mask(s: str) -> list[bool]:
    """Marks characters inside short quotations and book titles (“六大工程”, "532", 《…》).

    Web copies often lose the closing quote, so a quotation counts only when it closes within a
    short distance.
    """
    mask = [False] * len(s)
    pairs = (("“", "”", 20), ("\"", "\"", 20), ("‘", "’", 12), ("《", "》", 40), ("'", "'", 12))
    for open_q, close_q, limit in pairs:
        # str.find jumps between quote marks: a loop over every character cost a third of the rules' time.
        i = s.find(open_q)
        while i != -1:
            j = s.find(close_q, i + 1, i + 1 + limit)
            if j == -1:
                i = s.find(open_q, i + 1)
                continue
            mask[i + 1 : j] = [True] * (j - i - 1)
            i = s.find(open_q, j + 1)
    return mask


def _is_break(s: str, i: int, breaks: frozenset[str]) -> bool:
    """s[i] ends a clause; a space next to a digit is only web-copy spacing (总投资 50 亿元)."""
    if s[i] not in breaks:
        return False
    if s[i] == " " and (s[i - 1:i].isdigit() or s[i + 1:i + 2].isdigit()):
        return False
    return True


def _clause_start(s: str, pos: int, breaks: frozenset[str] = LIST_BREAK) -> int:
    i = pos
    while i > 0 and not _is_break(s, i - 1, breaks):
        i -= 1
    return i


def _clause_end(s: str, pos: int, breaks: frozenset[str] = CLAUSE_PUNCT) -> int:
    i = pos
    while i < len(s) and not _is_break(s, i, breaks):
        i += 1
    return i


def _ends_with_any(text: str, words: tuple[str, ...]) -> str | None:
    for word in sorted(words, key=len, reverse=True):
        if text.endswith(word):
            return word
    return None


def _starts_with_any(text: str, words: tuple[str, ...]) -> str | None:
    for word in sorted(words, key=len, reverse=True):
        if text.startswith(word):
            return word
    return None


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _name_char(ch: str) -> bool:
    """Characters that may appear inside an indicator or project name (not emoji, not symbols)."""
    return _is_cjk(ch) or (ch.isascii() and (ch.isalnum() or ch in "&-+.%()\" ")) or ch in "（）“”‘’·—－"


# --- values ------------------------------------------------------------------------------------


def _chinese_allowed(s: str, num_start: int, num_text: str, unit: str, kind: str) -> bool:
    """Chinese numerals are VALUEs only in unambiguous contexts; 三个主导产业 or 十件实事 are not."""
    parts = re.split(r"至|到", num_text)
    if not all(_CN_WELL_FORMED.match(p) and p for p in parts):
        return False
    before = s[max(0, num_start - 4):num_start]
    if len(parts) > 1:
        return True  # a range in words (一至两, 八至九) is never a name
    if num_text in ("百", "千", "十"):
        # A bare magnitude numeral needs a quantity cue: 突破千亿元, 上千万.
        return any(before.endswith(c) for c in lx.MAGNITUDE_NUMERAL_CUES)
    if re.search(rf"[{CN_DIGIT_CHARS}][亿万]$", before):
        return False  # part of a compound numeral (六亿二千万吨) that the rules do not split
    if kind == "plain":
        return True
    verb_before = any(before.endswith(v) for v in lx.QUANTITY_VERBS)
    if kind == "count" and num_text == "一":
        return False  # 一个 / 一项 is an article far more often than a count
    if kind in ("measure", "bare", "count") and (len(num_text) > 1 or unit[:1] in "万亿千百") and (
            kind != "count" or unit[:1] in "万亿"):
        return verb_before or (_is_cjk(before[-1:]) and before[-1:] not in "每第前一")
    return verb_before


def _group_sized(s: str, start: int, end: int) -> bool:
    """A count that only sizes the group a commitment is about (围绕50个省重点项目)."""
    clause_from = _clause_start(s, start, CLAUSE_PUNCT - {"、"})
    prefix = s[clause_from:start]
    if s[start - 1:start] in ("对", "向", "给") or "对" in prefix[-3:]:
        return True
    lead = prefix
    for adverb in ("全力", "积极", "继续", "进一步", "持续", "重点", "优先", "着力", "大力", "切实"):
        if lead.startswith(adverb) and not lead.startswith(lx.GROUP_SIZING_PREFIXES):
            lead = lead[len(adverb):]
    if lead.startswith(lx.GROUP_SIZING_PREFIXES):
        return True
    suffix = s[end:_clause_end(s, end, CLAUSE_PUNCT - {"、"})]
    return any(w in suffix for w in ("力度", "作用", "推进工作", "之一"))


def _accept_measure_follower(rest: str) -> bool:
    """True when what follows a measure unit shows the number is a quantity, not a threshold."""
    if not rest:
        return True
    for word in ("以上", "以下", "及以上"):
        if rest.startswith(word):
            rest = rest[len(word):]
            if not rest or not _is_cjk(rest[0]):
                return True
            # 亿元以上工业项目: a threshold inside an INDICATOR.
            return rest.startswith(("的", "增长", "和", "与", "、", "左右"))
    if rest[0].isdigit() or not (_is_cjk(rest[0]) or rest[0] in "()（）、/，。；：”\"！？"):
        return not rest.startswith(("级", "+"))
    if rest.startswith("或"):
        return False
    return rest.startswith(_MEASURE_FOLLOWERS)


def find_values(s: str, quoted: list[bool]) -> list[ValueHit]:
    hits: list[ValueHit] = []
    for m in VALUE_RE.finditer(s):
        hit = _value_from_match(s, m, quoted)
        if hit is not None:
            hits.append(hit)
    return _drop_group_counts(s, hits)


def _value_from_match(s: str, m: re.Match[str], quoted: list[bool]) -> ValueHit | None:
    if m.group("pct"):
        num_start, num_end = m.span("pnum")
        if quoted[num_start] or s[num_end:num_end + 1] in ("+", "x", "X"):
            return None
        chinese = not s[num_start].isdigit()
        if chinese and not all(_CN_WELL_FORMED.match(p) and p for p in re.split(r"至|到", m.group("pnum"))):
            return None
        return ValueHit((num_start, num_end), m.span("pct"), "pct", chinese)
    unit = m.group("unit")
    if not unit:
        return None
    num_start, num_end = m.span("num")
    unit_start, unit_end = m.span("unit")
    num_text = m.group("num")
    chinese = not num_text[0].isdigit()
    kind = UNIT_KINDS[unit]
    before = s[max(0, num_start - 3):num_start]
    after = s[unit_end:]
    if quoted[num_start]:
        return None
    # Ordinals, rankings, list numbers and names: 第4位, 前10名, PM2.5, 3+4+X, x.x, 年产10万吨….
    if before.endswith(("第", "前", "后", "+", "-", "x", "X", "×", ".", ". ", "年产", "年产能", "单机")):
        return None
    if before[-1:].isascii() and before[-1:].isalnum():
        return None
    if after[:1] in ("+", "x", "X", "×") or (after[:1].isascii() and after[:1].isalpha()):
        return None
    if after.startswith(("级", "强", "型", "代", "届", "版", "号")):
        return None
    if re.search(r"[-—]\d|\d[,，\s]", s[max(0, num_start - 2):num_start]):
        return None
    if chinese and not _chinese_allowed(s, num_start, num_text, unit, kind):
        return None
    if not chinese and re.fullmatch(r"\d{7,}", num_text):
        return None  # phone and document numbers
    breakers = lx.UNIT_WORD_BREAKERS.get(unit[-1:], "")
    if after[:1] and after[0] in breakers and not unit.endswith(("%", "点")):
        return None
    if kind == "duration" and not s[:num_start].endswith(lx.DURATION_CUES):
        return None
    if kind in ("measure", "bare") and not _accept_measure_follower(after):
        return None
    if kind == "count":
        noun = after[:_clause_end(after, 0) if after else 0][:8]
        if _starts_with_any(after, lx.EXCLUDED_COUNTED_NOUNS) or any(w in noun for w in lx.PROGRAMME_NOUNS):
            return None
        if _group_sized(s, num_start, unit_end):
            return None
    return ValueHit((num_start, num_end), (unit_start, unit_end), kind, chinese)


def _drop_group_counts(s: str, hits: list[ValueHit]) -> list[ValueHit]:
    """10条重点产业链产值突破300亿元: a count followed in the same clause (no punctuation between) by
    another value names the group the second value is about."""
    kept: list[ValueHit] = []
    for i, hit in enumerate(hits):
        nxt = hits[i + 1] if i + 1 < len(hits) else None
        if hit.kind == "count" and nxt is not None:
            between = s[hit.end:nxt.start]
            joined = any(ch in CLAUSE_PUNCT or ch in "和与及" for ch in between)
            if between and not joined and not between[0].isdigit():
                continue
        kept.append(hit)
    return kept


# --- indicators --------------------------------------------------------------------------------

_CUE_RE = re.compile(
    "(?:" + "|".join(re.escape(w) for w in sorted(lx.CUE_WORDS, key=len, reverse=True) if w != "均")
    + r"|(?<!人)均|比\d{4}年|较\d{4}年|比上年同期|较上年同期|连续[\d一二三四五六七八九十多]+年)$"
)
_INDICATOR_SET = frozenset(lx.INDICATORS)
# Lengths of the known names, longest first: `_scan_back` tries a few slices per position instead of
# every name (a scan over all names was a third of the rules' time).
_INDICATOR_LENGTHS = tuple(sorted({len(n) for n in lx.INDICATORS}, reverse=True))
_STOP_CHARS = frozenset("的在对把将与和及等向从由使让以于被给而并但")
_COORDINATORS = frozenset("、和与及")
# Characters that, right after a stripped leading verb, show the verb was part of a word (开发区, 保障性).
_BOUND_AFTER_VERB = frozenset("性区率费金业类者化型式点面员用")
_MAX_INDICATOR = 30


def _is_stop(s: str, i: int) -> bool:
    """Is s[i] a function word that ends an indicator phrase on its left?"""
    ch = s[i]
    if ch not in _STOP_CHARS:
        return False
    nxt = s[i + 1:i + 2]
    prev = s[i - 1:i]
    exceptions = {
        "以": nxt in ("上", "下", "内", "外", "来"),
        "在": nxt in ("建", "谈", "校", "岗", "职", "线", "库", "册", "营")
        or prev in ("潜", "存", "现", "所", "实", "内", "外", "自"),
        "对": nxt == "外",
        "使": nxt == "用",
        "等": nxt == "级" or prev in ("中", "同", "高", "初", "平", "对", "相", "均", "优"),
        "由": prev == "自",
        "及": prev == "普",
        "给": prev == "供",
        "并": prev == "合",
        "与": prev == "参",
        "向": prev in ("导", "方", "走", "意", "动", "投"),
    }
    return not exceptions.get(ch, False)


def _scan_back(s: str, pos: int, blocked: list[bool]) -> int | None:
    """Start of the noun phrase ending at `pos`, or None when the phrase is implausibly long."""
    i = pos
    while i > 0:
        if pos - i > _MAX_INDICATOR:
            return None
        size = next((n for n in _INDICATOR_LENGTHS if n <= i and s[i - n : i] in _INDICATOR_SET), 0)
        if size and not any(blocked[i - size : i]):
            i -= size
            continue
        ch = s[i - 1]
        closing_ascii = ch == "\"" and s.count("\"", 0, i - 1) % 2 == 1
        if _is_break(s, i - 1, CLAUSE_PUNCT) or blocked[i - 1] or (ch in OPEN_BRACKETS and not closing_ascii):
            break
        if not _name_char(ch):
            break
        if ch in CLOSE_TO_OPEN:
            opener = CLOSE_TO_OPEN[ch]
            j = s.rfind(opener, max(0, i - 14), i - 1)
            if j == -1 or any(c in CLAUSE_PUNCT - {"、"} for c in s[j:i]) or any(blocked[j:i]):
                break
            i = j
            continue
        if _is_stop(s, i - 1):
            break
        i -= 1
    if pos - i > _MAX_INDICATOR:
        return None
    return i


_YEAR_PREFIX = re.compile(r"(?:\d{4}|[一二〇零三四五六七八九]{4})年(?:度|底|末|初|上半年|下半年|全年)?")
_PAREN_PREFIX = re.compile(r"[(（][^)）]{0,8}[)）]")
_ORDINAL_PREFIX = re.compile(
    r"第[一二三四五六七八九十\d]+(?:轮|批|期|届|次|季度)|近?[\d一二三四五六七八九十]+年(?:来|内|间|中)?")
# A region name before a standard indicator stays outside (福建省【地区生产总值】).
_REGION_PREFIX = re.compile(rf"[{CJK}]{{1,5}}[省市区县州]")
_STRIP_WORDS = tuple(sorted(set(lx.SCOPE_PREFIXES + lx.LEADING_VERBS), key=len, reverse=True))
# Verbs inside a phrase that end what comes before them (与省产研院共建【企业研发机构】).
_CUT_WORDS: tuple[str, ...] = (
    "共建", "共同建设", "打造", "建成", "创成", "争创", "创建", "实现", "推动", "引导",
)


def strip_leading(text: str, start: int) -> int:
    """Drops scope words, time words, commitment words and non-keep leading verbs (§1b)."""
    for word in _CUT_WORDS:
        k = text.rfind(word, start, len(text) - len(word))
        if k > start and not text.startswith(lx.KEEP_VERBS, start):
            start = k + len(word)
    changed = True
    while changed and start < len(text):
        changed = False
        rest = text[start:]
        m = _YEAR_PREFIX.match(rest) or _PAREN_PREFIX.match(rest) or _ORDINAL_PREFIX.match(rest)
        if m:
            start += m.end()
            changed = True
            continue
        if _starts_with_any(rest, lx.KEEP_VERBS):
            break
        region = next((k for k in range(2, 7) if rest[k - 1:k] in "省市区县州" and rest[k:] in lx.INDICATORS
                       and _REGION_PREFIX.fullmatch(rest[:k])), None)
        if region:
            start += region
            break
        for word in _STRIP_WORDS:
            if rest.startswith(word) and len(rest) > len(word):
                if word in lx.LEADING_VERBS and rest[len(word)] in _BOUND_AFTER_VERB:
                    continue
                start += len(word)
                changed = True
                break
    return start


# Function words that cannot open an indicator (比“六五”期间, 为到2010年…).
_BAD_INDICATOR_STARTS: tuple[str, ...] = tuple("为到在从对把将向比较与和或及等使让由以于其这那该此")


def _valid_indicator(text: str) -> bool:
    if len(text) < 2 or len(text) > _MAX_INDICATOR:
        return False
    if text in lx.GENERIC_INDICATORS or text.endswith(("目标", "任务", "计划", "中")):
        return False
    if text.startswith(_BAD_INDICATOR_STARTS):
        return False
    if text in lx.KEEP_VERBS or text in lx.LEADING_VERBS or text in lx.SCOPE_PREFIXES:
        return False
    if not re.search(rf"[{CJK}A-Za-z]", text):
        return False
    if text[0] in "、)）”即" or not (_is_cjk(text[-1]) or text[-1].isalpha() or text[-1] in ")）”\""):
        return False
    return not re.search(r"是|为了|通过|按照|根据", text)


def _complete(text: str) -> bool:
    return text in lx.INDICATORS or _ends_with_any(text, lx.INDICATOR_HEADS) is not None


@dataclass(frozen=True)
class IndicatorHit:
    start: int
    end: int
    score: float


def indicator_before(s: str, anchor: int, blocked: list[bool]) -> list[IndicatorHit]:
    """The INDICATOR(s) naming the value that starts at `anchor` (nearest noun phrase on its left)."""
    pos = anchor
    if s[pos - 1:pos] == "上" and s[pos:pos + 1] in "千百万":
        pos -= 1  # 上千万: 上 is a comparator cue
    while pos > 0:
        m = _CUE_RE.search(s, 0, pos)
        if not m or m.end() != pos or m.start() == pos:
            break
        pos = m.start()
    if pos > 0 and s[pos - 1] in ")）":
        # 一般公共预算支出(扣除…外)增长3%: the parenthetical is not part of the name.
        opener = s.rfind("(" if s[pos - 1] == ")" else "（", max(0, pos - 40), pos - 1)
        inner = s[opener + 1:pos - 1]
        if opener > 0 and (len(inner) > 8 or re.search(r"\d", inner)):
            pos = opener
    if pos == 0 or s[pos - 1].isdigit() or s[pos - 1].isspace():
        return []
    start = _scan_back(s, pos, blocked)
    if start is None or start == pos:
        return []
    start = strip_leading(s[:pos], start)
    text = s[start:pos]
    if not _valid_indicator(text):
        return []
    conjuncts = [(start, pos)]
    # Coordinated names: 城镇居民可支配收入、农民人均纯收入 / 金融机构存、贷款余额.
    cursor = start
    while cursor > 0 and s[cursor - 1] in _COORDINATORS and len(conjuncts) < 6:
        prev_end = cursor - 1
        if prev_end == 0 or blocked[prev_end - 1]:
            break
        prev_start = _scan_back(s, prev_end, blocked)
        if prev_start is None or prev_start == prev_end:
            break
        piece = s[prev_start:prev_end]
        if re.search(r"\d|以上|左右|以内|以下", piece):
            break
        if s[cursor - 1] != "、" and len(piece) > 14:
            break
        conjuncts.insert(0, (prev_start, prev_end))
        cursor = prev_start
    if len(conjuncts) == 1:
        return [IndicatorHit(start, pos, 0.85 if text in lx.INDICATORS else 0.65)]
    first_start = strip_leading(s[:conjuncts[0][1]], conjuncts[0][0])
    conjuncts[0] = (first_start, conjuncts[0][1])
    if conjuncts[0][1] - first_start < 1:
        return [IndicatorHit(start, pos, 0.6)]
    texts = [s[a:b] for a, b in conjuncts]
    if all(_complete(t) and _valid_indicator(t) for t in texts):
        return [IndicatorHit(a, b, 0.8 if s[a:b] in lx.INDICATORS else 0.6) for a, b in conjuncts]
    return [IndicatorHit(first_start, pos, 0.55)]


def indicator_after(s: str, unit_end: int, blocked: list[bool]) -> IndicatorHit | None:
    """The counted noun after a count: 建设100个【口袋公园】."""
    rest_end = _clause_end(s, unit_end)
    if s.startswith("以上", unit_end):
        unit_end += 2
    rest = s[unit_end:rest_end]
    if not rest or rest.startswith(("左右", "以内", "以下", "多", "余")):
        return None
    if not (_is_cjk(rest[0]) or rest[0] in "“\""):
        return None
    cut = len(rest)
    for word in _FORWARD_STOPS:
        k = rest.find(word, 1)
        if 0 < k < cut:
            cut = k
    for k in range(cut):
        if blocked[unit_end + k] or rest[k].isdigit() or not _name_char(rest[k]):
            cut = k
            break
    text = rest[:cut]
    if len(text) < 2 or len(text) > 14 or not _valid_indicator(text):
        return None
    if _starts_with_any(text, lx.EXCLUDED_COUNTED_NOUNS):
        return None
    return IndicatorHit(unit_end, unit_end + cut, 0.6)


# --- projects ----------------------------------------------------------------------------------

_LIST_HEAD_RE = re.compile(
    rf"等(?:一批|一系列|\d+[个所家项座]|[一二两三四五六七八九十]+[个所家项座])?"
    rf"(?P<mod>[{CJK}A-Za-z]{{0,6}}?)(?P<head>项目|工程|学校)"
)
_ACTION_ALT = "|".join(sorted(lx.PROJECT_ACTIONS, key=len, reverse=True))
_ACTION_RE = re.compile(rf"(?:{_ACTION_ALT})+(?=$|[,，;；。、!！?？:：后 ]|(?:{_ACTION_ALT}))")
_DESCRIPTOR_RE = re.compile(
    r"(?:总投资|投资|计划投资)?\s*(?:超|约|近|达)?\s*(?:\d+(?:\.\d+)?|[百千十几数])\s*(?:多|余)?\s*"
    r"(?:亿|万|千万)?(?:元|美元)?级?的?"
)
_PHASE_RE = re.compile(r"[(（]?[一二三四五六七八九十\d]+期[)）]?(?:工程|项目)?$")
_DE_NAMES: tuple[str, ...] = ("美的", "的士")
_MID_VERBS: tuple[str, ...] = (
    "推进", "推动", "加快", "实施", "开展", "完成", "实现", "提升", "加强", "支持", "引导", "鼓励",
    "打造", "围绕", "依托", "聚焦", "积极", "全力", "发挥", "承接", "完善", "优化", "深化", "吸引",
    "更多", "一批", "等", "争创", "培育", "用于", "了", "已有", "已经",
)
# Vague cores of `X项目` that do not name a project (更多优质项目, 创新型项目).
_VAGUE_PROJECT_CORES: tuple[str, ...] = ("优质", "重点", "重大", "更多", "新", "型", "性", "类", "级", "批")
_PROJECT_PREFIXES = tuple(sorted(set(lx.PROJECT_PREFIXES), key=len, reverse=True))


@dataclass(frozen=True)
class ProjectHit:
    start: int
    end: int
    score: float


def _strip_descriptor(s: str, a: int, b: int) -> int:
    m = _DESCRIPTOR_RE.match(s, a, b)
    if m and m.end() > a and (s[m.end() - 1] in "的级" or "元" in s[a:m.end()]):
        return m.end()
    return a


def _clean_item(s: str, a: int, b: int, first: bool) -> tuple[int, int, str]:
    """Item bounds without spaces, descriptors and (for the first item) leading verbs.

    Returns (start, end, stripped prefix) where the prefix is what was removed on the left."""
    orig = a
    while a < b and s[a].isspace():
        a += 1
    while b > a and s[b - 1].isspace():
        b -= 1
    changed = True
    while changed and a < b:
        changed = False
        new_a = _strip_descriptor(s, a, b)
        if new_a != a:
            a, changed = new_a, True
            continue
        if first:
            word = _starts_with_any(s[a:b], _PROJECT_PREFIXES)
            if word and b - a > len(word) + 1:
                a += len(word)
                changed = True
        while a < b and s[a].isspace():
            a += 1
    if "的" in s[a:b]:
        k = s.rfind("的", a, b)
        before = s[a:k]
        if not any(name in s[a:b] for name in _DE_NAMES) and re.search(r"\d|级|亿|万", before):
            a = k + 1
    return a, b, s[orig:a]


def _has_head(text: str) -> bool:
    if _PHASE_RE.search(text) and len(_PHASE_RE.sub("", text)) >= 2:
        return True
    if text.endswith("项目"):
        core = text[:-2]
        return (len(core) >= 3 and not _ends_with_any(core, lx.GENERIC_PROJECT_ENDINGS)
                and not core.endswith(_VAGUE_PROJECT_CORES))
    return _ends_with_any(text, lx.FACILITY_HEADS) is not None


def _valid_item(text: str, quoted_inside: bool) -> bool:
    if len(text) < 2 or len(text) > 30 or quoted_inside:
        return False
    if re.search(r"[“”\"‘’《》,，;；。:：]", text) or not all(_name_char(c) for c in text):
        return False
    if "的" in text and not any(name in text for name in _DE_NAMES):
        return False
    if text.startswith(lx.GENERIC_PROJECT_STARTS) or text.startswith(lx.KEEP_VERBS):
        return False
    if text in lx.GENERIC_PROJECT_ITEMS or re.search(r"\d+[项个]", text):
        return False
    if any(v in text for v in _MID_VERBS):
        return False
    if _ends_with_any(text, lx.GENERIC_PROJECT_ENDINGS) and not _has_head(text):
        return False
    return not re.fullmatch(r"[\d.]+.*", text) or bool(re.search(rf"[{CJK}]{{2}}", text))


def _split_items(s: str, a: int, b: int, seps: str) -> list[tuple[int, int]]:
    """Splits s[a:b] on separators that are outside brackets."""
    items: list[tuple[int, int]] = []
    depth = 0
    start = a
    for i in range(a, b):
        ch = s[i]
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            depth = max(0, depth - 1)
        elif ch in seps and depth == 0:
            items.append((start, i))
            start = i + 1
    items.append((start, b))
    return items


def _clean_items(
    s: str, parts: list[tuple[int, int]], quoted: list[bool]
) -> tuple[list[tuple[int, int]], str] | None:
    cleaned: list[tuple[int, int]] = []
    prefix = ""
    for k, (a, b) in enumerate(parts):
        a2, b2, stripped = _clean_item(s, a, b, first=(k == 0))
        if k == 0:
            prefix = stripped
        if not _valid_item(s[a2:b2], any(quoted[a2:b2])):
            return None
        cleaned.append((a2, b2))
    return cleaned, prefix


def _strip_trailing_adverbs(s: str, start: int, end: int) -> int:
    changed = True
    while changed:
        changed = False
        word = _ends_with_any(s[start:end], lx.PROJECT_ADVERBS)
        if word and end - len(word) > start:
            end -= len(word)
            changed = True
    return end


def find_projects(s: str, quoted: list[bool]) -> list[ProjectHit]:
    hits: list[ProjectHit] = []
    covered: list[tuple[int, int]] = []
    # A: 恒力新材料、中顺洁柔等项目建设 / 国药控股等13个重大项目开工建设.
    for m in _LIST_HEAD_RE.finditer(s):
        list_end = m.start()
        list_start = _clause_start(s, list_end)
        if list_end - list_start < 2:
            continue
        follow = s[m.end():]
        for adverb in lx.PROJECT_ADVERBS:
            if follow.startswith(adverb):
                follow = follow[len(adverb):]
        parts = _split_items(s, list_start, list_end, "、")
        result = _clean_items(s, parts, quoted)
        if result is None:
            continue
        items, prefix = result
        # National reports call programmes 工程 (工业强基、智能制造等重大工程): a 工程 or 学校 list counts
        # only when its progress follows it, and never with a programme modifier.
        head_is_project = m.group("head") == "项目"
        if not head_is_project and any(w in m.group("mod") for w in lx.PROGRAMME_MODIFIERS):
            continue
        committed = follow.startswith(lx.PROJECT_FOLLOW_WORDS) or (
            head_is_project and any(v in prefix for v in lx.PROJECT_PRE_VERBS))
        if not committed:
            continue
        hits.extend(ProjectHit(a, b, 0.8) for a, b in items)
        covered.append((list_start, m.end()))
    # B: 激光装备设计中心、会展中心竣工投用 / 50亿级的新瑞邦科技、帕为斯特…年内投产达效.
    for m in _ACTION_RE.finditer(s):
        if any(a <= m.start() < b + 4 for a, b in covered):
            continue
        list_start = _clause_start(s, m.start())
        list_end = _strip_trailing_adverbs(s, list_start, m.start())
        if list_end - list_start < 2:
            continue
        parts = _split_items(s, list_start, list_end, "、和")
        result = _clean_items(s, parts, quoted)
        if result is None:
            continue
        items, prefix = result
        texts = [s[a:b] for a, b in items]
        if any(t[0].isdigit() for t in texts):
            continue
        action = m.group(0)
        if all(_has_head(t) for t in texts) or (len(texts) > 1 and texts[-1].endswith("项目")):
            score = 0.75
        elif action.startswith(lx.STRONG_PROJECT_ACTIONS) and (
            prefix.strip() == "" or prefix.rstrip().endswith("的") or _only_adverbs(prefix)
        ) and len(texts) > 1 and all(len(t) >= 3 and not _generic_words(t) for t in texts):
            score = 0.6
        else:
            continue
        hits.extend(ProjectHit(a, b, score) for a, b in items)
        covered.append((list_start, m.end()))
    hits.extend(_pre_verb_projects(s, quoted, covered))
    return hits


def _generic_words(text: str) -> bool:
    return any(w in text for w in lx.GENERIC_PROJECT_WORDS)


def _only_adverbs(prefix: str) -> bool:
    rest = prefix.strip()
    while rest:
        word = _starts_with_any(rest, (*lx.PROJECT_ADVERBS, "全区", "全市", "全县", "全年", "今年", "其中"))
        if not word:
            return False
        rest = rest[len(word):]
    return True


_PRE_BUILD_RE = re.compile(
    r"(?:开工建设|动工建设|启用|建成)(?P<obj>[^,，;；。:：、!！?？]{3,25}?)(?=$|[,，;；。!！?？])"
)
_PRE_SIGN_RE = re.compile(
    r"(?:签约落地|签约)(?P<obj>[^,，;；。:：!！?？]{4,60}?项目)(?=$|[,，;；。!！?？])"
)
_PRE_PUSH_RE = re.compile(
    r"(?:推进|推动|加快)(?P<obj>[^,，;；。:：、!！?？等]{4,25}?)(?P<build>建设)?(?=$|[,，;；。!！?？])"
)


def _pre_verb_projects(s: str, quoted: list[bool], covered: list[tuple[int, int]]) -> list[ProjectHit]:
    """C: 开工建设【华林学校】 / 已签约…【晶科25GW单晶拉棒切方项目】 / 推进【木兰溪四期防洪工程】建设."""
    hits: list[ProjectHit] = []

    def free(a: int, b: int) -> bool:
        return not any(x < b and a < y for x, y in covered)

    for m in _PRE_BUILD_RE.finditer(s):
        a, b, _ = _clean_item(s, *m.span("obj"), first=True)
        text = s[a:b]
        valid = _valid_item(text, any(quoted[a:b])) and _has_head(text)
        if free(a, b) and valid and not text.endswith("项目"):
            hits.append(ProjectHit(a, b, 0.65))
    for m in _PRE_SIGN_RE.finditer(s):
        a0, b0 = m.span("obj")
        for a, b in _split_items(s, a0, b0, "和"):
            a2, b2, _ = _clean_item(s, a, b, first=True)
            text = s[a2:b2]
            valid = 4 <= len(text) <= 40 and text.endswith("项目") and not any(quoted[a2:b2])
            if free(a2, b2) and valid and not text.startswith(lx.GENERIC_PROJECT_STARTS):
                hits.append(ProjectHit(a2, b2, 0.65))
    for m in _PRE_PUSH_RE.finditer(s):
        a, b, _ = _clean_item(s, *m.span("obj"), first=True)
        text = s[a:b]
        if not free(a, b) or not _valid_item(text, any(quoted[a:b])):
            continue
        phase = bool(_PHASE_RE.search(text)) or bool(re.search(r"[一二三四五六七八九十]期", text))
        project = text.endswith("项目") and len(text) >= 7
        facility = (m.group("build") is not None and _ends_with_any(text, lx.FACILITY_HEADS) is not None
                    and len(text) >= 4 and not _generic_words(text))
        if phase or project or facility:
            hits.append(ProjectHit(a, b, 0.6))
    return hits
