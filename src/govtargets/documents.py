"""Reading reports: file → decoded text → cleaned text with an offset map → normalised text,
sentences, paragraphs, sections and metadata (the `Document` contract in docs/ARCHITECTURE.md).

Every cleaning step only *deletes* characters of the source (boilerplate lines, page-break
artefacts, indentation, repeated whitespace, invisible characters), so `text[i] ==
source[offsets[i]]` holds for every cleaned character and a clean span maps back to the source
exactly unless a deletion lies inside it.
"""

from __future__ import annotations

import codecs
import datetime as dt
import glob
import io
import json
import re
import stat
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import charset_normalizer

MAX_BYTES = 50 * 1024 * 1024
SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".html", ".htm", ".docx", ".pdf", ".jsonl")


@dataclass
class DocMeta:
    title: str | None = None
    region: str | None = None
    level: str | None = None
    year: int | None = None
    date: str | None = None  # ISO date (YYYY-MM-DD)


@dataclass
class Sentence:
    """A sentence of the cleaned text: `text == doc.text[start:end]`, `norm == doc.norm[start:end]`."""

    start: int
    end: int
    text: str
    norm: str
    section: str | None  # "review" | "plan" | None
    paragraph: int  # index into Document.paragraphs


@dataclass
class Document:
    path: str
    source: str
    text: str
    norm: str
    offsets: list[int]
    sentences: list[Sentence]
    paragraphs: list[tuple[int, int]]
    meta: DocMeta

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """Map a clean span to the source span that covers it."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) outside the text (length {len(self.text)})")
        if start == end:
            return self.offsets[start], self.offsets[start]
        return self.offsets[start], self.offsets[end - 1] + 1


class DocumentError(Exception):
    """A file (or text) that cannot be turned into a Document; `str(e) == f"{path}: {reason}"`."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Inputs


def _supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def _unsupported_reason(path: Path) -> str:
    return f"unsupported file type '{path.suffix or '(none)'}' (supported: {', '.join(SUPPORTED_SUFFIXES)})"


def _files_under(directory: Path) -> list[Path]:
    # Hidden files and folders (.git, editor backups) are never reports.
    return [
        f for f in directory.rglob("*")
        if f.is_file() and _supported(f)
        and not any(part.startswith(".") for part in f.relative_to(directory).parts)
    ]


def expand_inputs(inputs: list[str]) -> tuple[list[Path], list[DocumentError]]:
    """Files, directories (recursive) and glob patterns → supported files, sorted and de-duplicated."""
    found: dict[Path, Path] = {}
    errors: list[DocumentError] = []

    def add(path: Path) -> None:
        found.setdefault(path.resolve(), path)

    for item in inputs:
        path = Path(item)
        try:
            if path.is_dir():
                files = _files_under(path)
                if not files:
                    errors.append(DocumentError(item, "no supported files in directory"))
                for f in files:
                    add(f)
            elif path.is_file():
                if _supported(path):
                    add(path)
                else:
                    errors.append(DocumentError(item, _unsupported_reason(path)))
            elif any(ch in item for ch in "*?["):
                count = 0
                for match in sorted(glob.glob(item, recursive=True)):
                    mpath = Path(match)
                    files = _files_under(mpath) if mpath.is_dir() else [mpath] if _supported(mpath) else []
                    for f in files:
                        add(f)
                    count += len(files)
                if not count:
                    errors.append(DocumentError(item, "no supported files match this pattern"))
            else:
                errors.append(DocumentError(item, "no such file or directory"))
        except OSError as exc:
            errors.append(DocumentError(item, f"cannot access ({exc.strerror or exc})"))
    return sorted(found.values(), key=str), errors


# ---------------------------------------------------------------------------------------------
# Decoding

# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MAX_CHAOS = 0.1
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def _plausible(text: str) -> bool:
    """Whether a non-UTF-8 decoding looks like real text rather than mojibake.

    GB18030 maps almost any byte sequence to *some* characters; a wrong guess shows up as private-use
    characters, replacement characters, controls or rare ideographs (extension A, other planes).
    """
    rare = 0
    for ch in text:
        o = ord(ch)
        if 0xE000 <= o <= 0xF8FF or o == 0xFFFD:
            return False
        if 0x3400 <= o <= 0x4DBF or o > 0xFFFF or (o < 32 and ch not in "\t\n\r\x0c") or 0x7F <= o < 0xA0:
            rare += 1
    return rare <= len(text) // 200


def _decode(data: bytes, path: str) -> str:
    if not data:
        raise DocumentError(path, "empty file")
    text: str | None = None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise DocumentError(path, f"invalid {codec} text after its byte-order mark") from None
            break
    if text is None:
        if b"\x00" in data:
            raise DocumentError(path, "binary file (contains NUL bytes)")
        text = _decode_without_bom(data, path)
    if not text.strip():
        raise DocumentError(path, "file contains only whitespace")
    if len(_CONTROL_RE.findall(text)) > max(2, len(text) // 100):
        raise DocumentError(path, "binary or non-text content (control characters)")
    return text


def _decode_without_bom(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        if _plausible(text):
            return text
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and best.chaos <= _MAX_CHAOS:
        text = str(best)
        if _plausible(text):
            return text
    guess = f"; best guess {best.encoding} is unreliable" if best is not None else ""
    raise DocumentError(path, f"cannot decode reliably (tried utf-8, gb18030, charset detection{guess})")


# ---------------------------------------------------------------------------------------------
# Extraction from containers (the extracted text becomes Document.source)

_HTML_DROP = ("script", "style", "nav", "header", "footer", "noscript", "template", "iframe", "svg", "head",
              "button", "select", "textarea")
_HTML_BLOCKS = ("address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt", "figcaption",
                "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "ol", "p", "pre",
                "section", "table", "tbody", "thead", "tfoot", "tr", "ul", "center")
_HTML_SPACE_RE = re.compile(r"[ \t\r\n\f]+")
_WIDE = r"\u2e80-\u303f\u3040-\u9fff\uf900-\ufaff\uff00-\uffef"
_HTML_WIDE_BREAK_RE = re.compile(rf"(?<=[{_WIDE}])[ \t\f]*\r?\n[ \t\r\n\f]*(?=[{_WIDE}])")


def _compact_lines(lines: list[str]) -> str:
    # Containers mark every paragraph explicitly, so blank lines carry no meaning there; dropping them
    # keeps the soft-break heuristics for plain text (see _soft_break) from joining real paragraphs.
    return "\n".join(s for s in (line.strip() for line in lines) if s)


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup, Comment, NavigableString

    soup = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    # HTML collapses source whitespace (only <pre> keeps it), and a line break between two wide
    # characters disappears altogether (CSS Text 3 segment-break rules): "左右，\n一般" → "左右，一般".
    for string in soup.find_all(string=True):
        if type(string) is NavigableString and string.find_parent("pre") is None:
            collapsed = _HTML_WIDE_BREAK_RE.sub("", str(string))
            string.replace_with(_HTML_SPACE_RE.sub(" ", collapsed))
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for cell in soup.find_all(("td", "th")):
        cell.append("\t")
    for block in soup.find_all(_HTML_BLOCKS):
        block.insert_before("\n")
        block.append("\n")
    return _compact_lines(soup.get_text().split("\n"))


def _docx_text(data: bytes) -> str:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                seen: set[int] = set()
                cells: list[str] = []
                for cell in row.cells:
                    # Merged cells come back once per grid column.
                    if id(cell._tc) in seen:
                        continue
                    seen.add(id(cell._tc))
                    if cell.text.strip():
                        cells.append(" ".join(cell.text.split()))
                lines.append("\t".join(cells))
        else:
            lines.extend(block.text.split("\n"))
    return _compact_lines(lines)


def _pdf_text(data: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pages = [page.extract_text() or "" for page in pdf.pages]
    return "\n".join(page.strip("\n") for page in pages if page.strip())


# ---------------------------------------------------------------------------------------------
# Reading files


def _as_year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}\s*", value):
        return int(value)
    return None


def _read_jsonl(data: bytes, name: str) -> list[Document]:
    text = _decode(data, name)
    documents: list[Document] = []
    # Only "\n" separates records: a JSON string may legally contain U+2028 and friends.
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DocumentError(name, f"line {lineno}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise DocumentError(name, f"line {lineno}: no 'text' string field")
        ident = record.get("id")
        doc_path = f"{name}#{ident if ident not in (None, '') else lineno}"
        title = record.get("title") if isinstance(record.get("title"), str) else None
        region = record.get("region") if isinstance(record.get("region"), str) else None
        documents.append(document_from_text(record["text"], doc_path, title=title or None,
                                            region=region or None, year=_as_year(record.get("year"))))
    if not documents:
        raise DocumentError(name, "no records in JSONL file")
    return documents


def read_file(path: str | Path, display: str | None = None) -> list[Document]:
    """Read one report file; .jsonl files give one Document per line. Raises DocumentError."""
    path = Path(path)
    name = display if display is not None else str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(name, _unsupported_reason(path))
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DocumentError(name, "no such file") from None
    except OSError as exc:
        raise DocumentError(name, f"cannot access file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DocumentError(name, "is a directory")
    if info.st_size > MAX_BYTES:
        raise DocumentError(name, f"file too large ({info.st_size} bytes; limit {MAX_BYTES})")
    if info.st_size == 0:
        raise DocumentError(name, "empty file")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise DocumentError(name, "cannot read file (permission denied)") from None
    except OSError as exc:
        raise DocumentError(name, f"cannot read file ({exc.strerror or exc})") from None

    if suffix == ".jsonl":
        return _read_jsonl(data, name)
    if suffix == ".txt":
        return [document_from_text(_decode(data, name), name)]
    if suffix in (".html", ".htm"):
        source = _html_text(_decode(data, name))
        kind = "HTML"
    elif suffix == ".docx":
        try:
            source = _docx_text(data)
        except Exception as exc:  # python-docx raises zipfile, lxml and KeyError alike on broken files
            raise DocumentError(name, f"not a readable .docx file ({type(exc).__name__})") from None
        kind = "DOCX"
    else:
        try:
            source = _pdf_text(data)
        except Exception as exc:  # pdfminer raises many unrelated types on broken or encrypted PDFs
            raise DocumentError(name, f"not a readable PDF ({type(exc).__name__})") from None
        kind = "PDF"
    if not source.strip():
        hint = " (scanned images?)" if kind == "PDF" else ""
        raise DocumentError(name, f"no text found in {kind}{hint}")
    return [document_from_text(source, name)]


# ---------------------------------------------------------------------------------------------
# Normalisation (same length as the text, character by character)

_FULLWIDTH_SYMBOLS = "％．＋－／＝＜＞～＆＊＃＠＿＄"
_ODD_SPACES = "\t\xa0\u1680\u202f\u205f\u3000" + "".join(chr(c) for c in range(0x2000, 0x200B))
_LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_DIGIT_COMMA_RE = re.compile(r"(?<=\d)，(?=\d{3}(?!\d))")


@cache
def _norm_table() -> dict[int, str]:
    table: dict[int, str] = {}
    # Traditional → simplified: single characters only, first candidate, so the length never changes.
    ts_file = resources.files("opencc").joinpath("dictionary", "TSCharacters.txt")
    for line in ts_file.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) != 2 or len(parts[0]) != 1:
            continue
        candidates = parts[1].split()
        if candidates and len(candidates[0]) == 1 and candidates[0] != parts[0]:
            table[ord(parts[0])] = candidates[0]
    for lo, hi in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A)):
        for code in range(lo, hi + 1):
            table[code] = chr(code - 0xFEE0)
    for ch in _FULLWIDTH_SYMBOLS:
        table[ord(ch)] = chr(ord(ch) - 0xFEE0)
    table[ord("﹪")] = "%"
    for ch in _ODD_SPACES:
        table[ord(ch)] = " "
    for ch in _LINE_BREAKS:
        table[ord(ch)] = "\n"
    return table


def normalize(text: str) -> str:
    """The tagger's view of `text`: same length; half-width digits/letters/％, plain spaces, simplified."""
    norm = text.translate(_norm_table())
    # "2，200亿元" (old reports) is a thousands separator, not a clause break.
    return _DIGIT_COMMA_RE.sub(",", norm)


# ---------------------------------------------------------------------------------------------
# Cleaning

_BREAK_RE = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_INVISIBLE = frozenset(
    "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\ufeff"
    + "".join(chr(c) for c in range(32) if chr(c) != "\t")
    + "".join(chr(c) for c in range(0x7F, 0xA0))
)
_TERMINAL = frozenset("。！？；!?;：:…")
_CONTINUATION_END = frozenset("，,、")
_OPENERS = frozenset("（(“「『《【[‘〈〔")
_CLOSERS = frozenset("）)”」』》】]’〉〕")
_CONTINUATION_START = frozenset("，,、。；;：:！!？?%％") | _CLOSERS

_SHORT_LINE = 80
_DROP_LINE_RE = re.compile(
    r"^(?:导航菜单|网站导航|网站地图|网站首页|首页|返回顶部|回到顶部|返回首页|打印本页|打印|关闭窗口|关闭|收藏"
    r"|分享到.*|【?字[号体][:：].*|当前位置[:：].*|您的位置[:：].*|您现在的位置[:：].*|验证码[:：]?.*"
    r"|留言与评论.*|发表评论.*|我要评论.*|网友评论.*"
    r"|(?:责任编辑|编辑|来源|稿源|发布时间|发布日期|更新时间|作者|浏览次数|阅读次数|点击数|访问量)[:：].*"
    r"|[(（【\[]\s*(?:责任编辑|编辑)[:：].*|本文地址[:：].*|本文链接[:：].*|上一篇[:：].*|下一篇[:：].*"
    r"|相关(?:阅读|文章|推荐|链接|新闻)[:：]?|[【\[]\s*(?:打印|关闭)(?:本页|窗口)?\s*[】\]].*)$"
)
# Site disclaimers are whole paragraphs; they never belong to a report wherever they appear.
_DISCLAIMER_RE = re.compile(r"^(?:本文仅代表作者观点|免责声明|版权声明|声明[:：]\s*本站|本站声明|凡注明为)")
# Where a web page's footer starts; everything after it is site furniture.
_FOOTER_RE = re.compile(
    r"^(?:本文仅代表作者观点|本文地址[:：]|本文链接[:：]|留言与评论|发表评论|网友评论|本作品是中华人民共和国的"
    r"|本作品在全世界都属于公有领域|免责声明|版权声明|版权所有|上一篇[:：]|下一篇[:：]|相关(?:阅读|文章|推荐|新闻)[:：]?$"
    r"|Copyright|©)"
)
_FOOTER_ZONE = 0.6  # footers are only recognised in the last 40% of the source
# Document-sharing sites append a "content summary" that repeats the first lines: 内容总结(1)…(2)…
_SUMMARY_JUNK_RE = re.compile(r"\s*内容总结\s*[(（]1[)）]")
_PAGE_LINE_RE = re.compile(r"^(?:[-－—–]\s*\d{1,4}\s*[-－—–]"
                           r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
                           r"|\d{1,4}\s*/\s*\d{1,4})$")
_PAGE_PREFIX_RE = re.compile(r"^(\d{1,3})、")
_PAGE_MIN_LINE = 100  # a page of text, not a list item
_HEADING_START_RE = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.．]|[(（]\s*[一二三四五六七八九十\d]+\s*[)）]|\d{1,2}\s*[、.．](?!\d)"
    r"|第[一二三四五六七八九十]+(?:部分|章|节|篇))"
)
_HEADING_MAX = 40


@dataclass
class _Line:
    idx: list[int]  # source indices of the kept characters
    brk: int  # source index of the kept line-break character after the line (-1: end of source)
    blank_before: bool = False  # a blank line or removed boilerplate separates it from the previous line
    join: bool = False  # page-break repair: continues the previous line

    def text(self, source: str) -> str:
        return "".join(source[i] for i in self.idx)


def _strip_idx(idx: list[int], source: str) -> list[int]:
    lo, hi = 0, len(idx)
    while lo < hi and source[idx[lo]].isspace():
        lo += 1
    while hi > lo and source[idx[hi - 1]].isspace():
        hi -= 1
    return idx[lo:hi]


def _split_lines(source: str) -> list[_Line]:
    lines: list[_Line] = []
    pos = 0
    blank = False
    breaks = [(m.start(), m.end()) for m in _BREAK_RE.finditer(source)] + [(len(source), -1)]
    for start, end in breaks:
        raw = range(pos, start)
        idx = _strip_idx([i for i in raw if source[i] not in _INVISIBLE], source)
        if idx:
            lines.append(_Line(idx, end - 1 if end >= 0 else -1, blank))
            blank = False
        elif all(source[i].isspace() for i in raw):
            blank = True
        # A line of nothing but zero-width characters (wiki exports) is transparent: neither text nor
        # a paragraph separator.
        pos = end
    return lines


def _drop_boilerplate(lines: list[_Line], source: str) -> list[_Line]:
    kept: list[_Line] = []
    cut_from = int(len(source) * _FOOTER_ZONE)
    separate = False
    for line in lines:
        text = line.text(source)
        if _FOOTER_RE.match(text) and line.idx[0] >= cut_from:
            break
        if (len(text) <= _SHORT_LINE and _DROP_LINE_RE.match(text)) or _DISCLAIMER_RE.match(text):
            separate = True
            continue
        if _PAGE_LINE_RE.match(text):
            continue  # page footers sit inside running text: no paragraph break
        if separate:
            line.blank_before = True
            separate = False
        kept.append(line)
    if kept:
        last = kept[-1]
        match = _SUMMARY_JUNK_RE.search(last.text(source))
        if match is not None and last.idx[match.start()] >= cut_from:
            last.idx = _strip_idx(last.idx[: match.start()], source)
            if not last.idx:
                kept.pop()
    return kept


def _ends_sentence(text: str) -> bool:
    trimmed = text.rstrip("）)”」』》】]’")
    return bool(trimmed) and trimmed[-1] in _TERMINAL


def _repair_page_breaks(lines: list[_Line], source: str) -> list[_Line]:
    """Remove "N、" page numbers that a document-sharing site put at the start of every page.

    They form a run N, N+1, N+2 … at line starts, and most of them follow a full page of text that
    stops in the middle of a sentence (`进一步完` / `2、善园区`). Genuine list items (一、…, a `1、`
    after a finished sentence, short items) never satisfy both conditions.
    """
    texts = [line.text(source) for line in lines]
    chains: list[list[tuple[int, int]]] = []
    for k, text in enumerate(texts):
        match = _PAGE_PREFIX_RE.match(text)
        if not match:
            continue
        number = int(match.group(1))
        chain = next((c for c in reversed(chains) if c[-1][1] == number - 1), None)
        if chain is None:
            chains.append([(k, number)])
        else:
            chain.append((k, number))

    def mid_sentence(k: int) -> bool:
        return k > 0 and len(texts[k - 1]) >= _PAGE_MIN_LINE and not _ends_sentence(texts[k - 1])

    for chain in chains:
        followers = [k for k, _ in chain if k > 0]
        if len(chain) < 3 or sum(mid_sentence(k) for k in followers) * 3 < len(followers) * 2:
            continue
        for k, number in chain:
            line = lines[k]
            line.idx = _strip_idx(line.idx[len(str(number)) + 1:], source)
            if mid_sentence(k):
                line.join = True  # even across a blank line: the sentence itself runs on
    return [line for line in lines if line.idx]


def _soft_break(prev: str, cur: str, blank_style: bool, wrap_width: int) -> bool:
    """Whether a single line break inside running text is an artefact (link, wrap, subscript)."""
    if _ends_sentence(prev):
        return False
    if prev[-1] in _OPENERS or prev[-1] in _CONTINUATION_END or cur[0] in _CONTINUATION_START:
        return True
    if (_HEADING_START_RE.match(prev) and len(prev) <= _HEADING_MAX) or _HEADING_START_RE.match(cur) \
            or cur.startswith("——"):
        return False
    if blank_style:
        return True
    return wrap_width > 0 and len(prev) >= wrap_width


def _layout(lines: list[_Line], source: str) -> tuple[bool, int]:
    """(paragraphs are separated by blank lines, width of hard-wrapped lines or 0)."""
    follows = lines[1:]
    blank_breaks = sum(line.blank_before for line in follows)
    blank_style = blank_breaks >= 3 and blank_breaks * 10 >= len(follows) * 3
    lengths = sorted(len(line.idx) for line in lines)
    if len(lengths) < 5:
        return blank_style, 0
    p90 = lengths[int(len(lengths) * 0.9) - 1]
    width = int(p90 * 0.85)
    wrapped = p90 >= 15 and sum(n >= width for n in lengths) * 2 >= len(lengths)
    return blank_style, width if wrapped else 0


def _clean(source: str) -> tuple[str, list[int]]:
    lines = _split_lines(source)
    lines = _drop_boilerplate(lines, source)
    lines = _repair_page_breaks(lines, source)
    if not lines:
        return "", [0]
    blank_style, wrap_width = _layout(lines, source)
    groups: list[list[_Line]] = [[lines[0]]]
    prev_text = lines[0].text(source)
    for line in lines[1:]:
        text = line.text(source)
        if line.join or (not line.blank_before and _soft_break(prev_text, text, blank_style, wrap_width)):
            groups[-1].append(line)
        else:
            groups.append([line])
        prev_text = text
    kept: list[int] = []
    for g, group in enumerate(groups):
        if g:
            kept.append(groups[g - 1][-1].brk)
        previous_space = False
        for i in (i for line in group for i in line.idx):
            # Runs of spaces collapse to their first character.
            space = source[i].isspace()
            if not (space and previous_space):
                kept.append(i)
            previous_space = space
    text = "".join(source[i] for i in kept)
    return text, [*kept, kept[-1] + 1]


# ---------------------------------------------------------------------------------------------
# Paragraphs and sentences

_SENTENCE_END = frozenset("。！？；;!?｡")
_PAIRS = {"（": "）", "(": ")", "“": "”", "「": "」", "『": "』", "《": "》", "【": "】", "[": "]",
          "‘": "’", "〈": "〉", "〔": "〕"}
_MAX_BRACKET = 300


_PARAGRAPH_GAP_RE = re.compile(r"\n|(?<=[。！？!?])[ ]+")


def _paragraph_spans(norm: str) -> list[tuple[int, int]]:
    # Lines of the cleaned text (norm turns every kept break character into "\n"). Pages that
    # flattened their paragraphs into one line keep them apart with spaces after a full stop
    # ("…分别增长12%以上。 一、着力开展工业经济"): those gaps separate paragraphs too.
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _PARAGRAPH_GAP_RE.finditer(norm):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(norm)))
    return [(a, b) for a, b in spans if b > a]


def _bracket_closers(seg: str) -> dict[int, int]:
    """opener position → matching closer position, for pairs that close within the limit."""
    matches: dict[int, int] = {}
    stacks: dict[str, list[int]] = {closer: [] for closer in _PAIRS.values()}
    quotes: list[int] = []
    for i, ch in enumerate(seg):
        if ch in _PAIRS:
            stacks[_PAIRS[ch]].append(i)
        elif ch in stacks:
            stack = stacks[ch]
            # An opener that never closed in time is a stray character; it must not swallow the rest.
            while stack and i - stack[-1] > _MAX_BRACKET:
                stack.pop()
            if stack:
                matches[stack.pop()] = i
        elif ch == '"':
            quotes.append(i)
    k = 0
    while k + 1 < len(quotes):
        if quotes[k + 1] - quotes[k] <= _MAX_BRACKET:
            matches[quotes[k]] = quotes[k + 1]
            k += 2
        else:
            k += 1
    return matches


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    seg = text[start:end]
    closers = _bracket_closers(seg)
    matched_closers = set(closers.values())
    spans: list[tuple[int, int]] = []
    open_until: list[int] = []
    begin = 0
    i = 0
    n = len(seg)
    while i < n:
        ch = seg[i]
        boundary = False
        if i in closers:
            open_until.append(closers[i])
        elif open_until and i in open_until:
            open_until.remove(i)
            # “……。” closes a sentence once the quote is closed.
            boundary = not open_until and i > 0 and seg[i - 1] in _SENTENCE_END
        elif ch in _SENTENCE_END and not open_until:
            boundary = True
        if boundary:
            j = i + 1
            while j < n and (seg[j] in _SENTENCE_END or (seg[j] in _CLOSERS and j not in matched_closers)):
                j += 1
            spans.append((begin, j))
            begin = j
            i = j
            continue
        i += 1
    spans.append((begin, n))
    result: list[tuple[int, int]] = []
    for a, b in spans:
        while a < b and seg[a].isspace():
            a += 1
        while b > a and seg[b - 1].isspace():
            b -= 1
        if any(c.isalnum() for c in seg[a:b]):
            result.append((start + a, start + b))
    return result


# ---------------------------------------------------------------------------------------------
# Sections: review of the past year vs plans for the coming year

_NUMBERING_RE = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.．]|[(（]\s*[一二三四五六七八九十\d]+\s*[)）]|\d{1,2}\s*[、.．](?!\d)"
    r"|第[一二三四五六七八九十]+(?:部分|章|节|篇)[、,，:：]?)\s*"
)
_ADDRESS_RE = re.compile(r"^各位代表[,，!！:：]\s*")
_PLAN_RE = re.compile(
    r"(?:关于|对)?(?P<when>\d{4}年|今年|明年)[,，]?\s*(?P<mid>[^，,。；;：:!！?？]{0,24}?)"
    r"(?:主要任务|重点任务|工作任务|重点工作|总体部署|工作部署|总体要求|主要预期目标|预期目标|主要目标|发展目标"
    r"|目标任务|总体思路|主要思路|工作思路|工作安排|工作建议|的建议|的工作$)"
)
# A heading about what was done, not what will be done.
_PLAN_NEGATIVE_RE = re.compile(r"完成|实现|执行|回顾|情况|成绩|成效|取得|圆满|超额|总结")
_REVIEW_HEAD_RE = re.compile(r"工作回顾|的回顾|回顾$|完成情况|执行情况|工作总结")
_OTHER_HEAD_RE = re.compile(
    r"今后五年|未来五年|十[一二三四五六七八九]五|“[一二三四五六七八九十]+五”|五年规划|五年计划|远景目标"
)
_WEAK_REVIEW_RE = re.compile(r"^(?:过去(?:的)?一年|过去五年|一年来|五年来|这一年|刚刚过去的|回顾过去"
                             r"|去年(?!同期)"
                             r"|(?P<year>\d{4})年(?:[,，]|是|以来|全年))")
_LOOK_AHEAD_RE = re.compile(r"^(?:今年|新的一年|明年|\d{4}年(?:是|要|将|，))")
_YEAR_RE = re.compile(r"(\d{4})年")
_WEAK_CUE_ZONE = 0.4  # opening words only count in the first part of a report, where the review is


def _numbering_style(numbering: str) -> str:
    """一、 / （一） / 1、 / 第一部分 → a label that is equal for headings of the same level."""
    numbering = numbering.strip()
    if numbering.startswith("第"):
        return "第"
    kind = "d" if re.search(r"\d", numbering) else "c"
    return f"({kind})" if numbering[0] in "(（" else kind


@dataclass
class _SectionResult:
    sections: list[str | None]
    plan_year: int | None
    review_year: int | None


def _plan_year(core: str, ref_year: int | None) -> tuple[bool, int | None]:
    """(core starts a plan heading/lead sentence, the year it names)."""
    # "区府重点任务实施方案 2023年全区…主要预期目标是" — a heading can follow a running title.
    starts = [0] + [m.end() for m in re.finditer(r"\s+", core[:30])]
    for pos in starts:
        match = _PLAN_RE.match(core, pos)
        if not match or _PLAN_NEGATIVE_RE.search(match.group(0)):
            continue
        when = match.group("when")
        if when == "今年":
            return True, ref_year
        if when == "明年":
            return True, ref_year + 1 if ref_year else None
        year = int(when[:4])
        if ref_year is not None and year not in (ref_year, ref_year + 1):
            continue
        return True, year
    return False, None


def _assign_sections(units: list[tuple[str, bool, bool]], ref_year: int | None) -> _SectionResult:
    """Sections for sentences given as (norm, first in its paragraph, alone in its paragraph).

    Heading-driven, precision over coverage: text before the first recognised heading stays None, and
    so does a five-year outlook (今后五年…, “十四五”时期…). Explicit headings (一、2022年工作回顾 /
    2023年主要任务 / 今年工作的主要预期目标是…) switch the section anywhere; the opening words of a
    paragraph (过去一年, 一年来, 2022年，…) only start a review while nothing is known yet, since
    reports put the review first.
    """
    state = "unknown"  # "unknown" | "other" | "review" | "plan"
    review_level: str | None = None  # numbering style of the heading that opened the review
    plan_year: int | None = None
    review_year: int | None = None
    sections: list[str | None] = []
    looking_back = False  # a paragraph inside the plan that reports last year (过去一年，…)
    for position, (norm, first, alone) in enumerate(units):
        body = _ADDRESS_RE.sub("", norm.strip())
        numbering = _NUMBERING_RE.match(body)
        level = _numbering_style(numbering.group(0)) if numbering else None
        core = body[numbering.end():] if numbering else body
        bare = core.rstrip("。！？；;!?:：")
        heading = alone and len(bare) <= _HEADING_MAX and (numbering is not None or bare == core)
        is_plan, year = _plan_year(core, ref_year)
        if heading and _REVIEW_HEAD_RE.search(bare):
            state = "review"
            review_level = level
            found = _YEAR_RE.search(bare)
            review_year = review_year or (int(found.group(1)) if found else None)
        elif heading and _OTHER_HEAD_RE.search(bare):
            state = "other"
        elif is_plan:
            state = "plan"
            plan_year = plan_year or year
        elif state == "review" and heading and level is not None and level == review_level:
            # The next chapter after "一、…工作回顾" ("二、继续扩大内需…") is no longer the review, even
            # when its heading does not say what it is.
            state = "other"
        elif state == "unknown" and first and position < len(units) * _WEAK_CUE_ZONE:
            weak = _WEAK_REVIEW_RE.match(core)
            if weak and (weak.group("year") is None
                         or (ref_year is not None and int(weak.group("year")) == ref_year - 1)):
                state = "review"
                # The review's own chapter heading lies before this point; the next top-level
                # chapter (一、二、…) ends it.
                review_level = "c"
        # "三、2011年的工作 … 过去一年，我们的各项工作取得了很大成绩。国内生产总值增长10.3%…": inside
        # the plan, a sentence that opens by looking back reports results until its paragraph ends or
        # a sentence turns to this year again.
        if first:
            looking_back = False
        if state == "plan":
            weak = _WEAK_REVIEW_RE.match(core)
            if weak is not None and (
                weak.group("year") is None or (ref_year is not None and int(weak.group("year")) == ref_year - 1)
            ):
                looking_back = True
            elif _LOOK_AHEAD_RE.match(core):
                looking_back = False
        if looking_back and state == "plan":
            sections.append("review")
            continue
        sections.append(state if state in ("review", "plan") else None)
    return _SectionResult(sections, plan_year, review_year)


# ---------------------------------------------------------------------------------------------
# Metadata

_TITLE_WORD_RE = re.compile(r"工作报告|工作计划|报告|规划纲要")
_DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CN_DATE_RE = re.compile(r"([〇○零一二三四五六七八九]{4})年"
                         r"([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日")
_CN_DIGITS = {ch: i for i, ch in enumerate("〇一二三四五六七八九")} | {"○": 0, "零": 0}
_NATIONAL_RE = re.compile(r"^(?:国务院总理|(?:——)?.{0,20}在第.{1,4}届全国人民代表大会)")
_REGION_RE = re.compile(
    r"^(?:[\u4e00-\u9fff]{1,12}?(?:特别行政区|自治区|自治州|自治县|地区|省|市|州|盟|区|县|旗|镇|乡|街道))+"
)
_MUNICIPALITIES = frozenset({"北京市", "上海市", "天津市", "重庆市"})


def _cn_number(text: str) -> int:
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    return _CN_DIGITS[text]


def _find_date(text: str) -> str | None:
    for match in _DATE_RE.finditer(text):
        try:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
        except ValueError:
            continue
    for match in _CN_DATE_RE.finditer(text):
        try:
            year = int("".join(str(_CN_DIGITS[c]) for c in match.group(1)))
            return dt.date(year, _cn_number(match.group(2)), _cn_number(match.group(3))).isoformat()
        except (ValueError, KeyError):
            continue
    return None


def region_level(region: str) -> str | None:
    """Administrative level of a region name: 全国, 省, 市, 区, 县 or 镇."""
    if region == "全国":
        return "全国"
    # The four municipalities under the central government are provincial-level units.
    if region in _MUNICIPALITIES:
        return "省"
    for suffixes, level in ((("特别行政区", "自治区", "省"), "省"), (("自治县", "县", "旗"), "县"),
                            (("自治州", "地区", "市", "州", "盟"), "市"), (("区",), "区"),
                            (("镇", "乡", "街道"), "镇")):
        if region.endswith(suffixes):
            return level
    return None


def _region_from_title(title_norm: str) -> str | None:
    # "(江苏省)宿迁市宿城区…": the bracketed province is context, not part of the region.
    title = re.sub(r"^\s*[(（][^()（）]{1,12}[)）]", "", title_norm)
    title = re.sub(r"^\s*\d{4}年度?", "", title)
    if "国务院" in title:
        return "全国"
    government = re.search(r"人民政府|政府", title)
    prefix = title[: government.start()] if government else title
    match = _REGION_RE.match(prefix.strip())
    return match.group(0) if match else None


@dataclass
class _Heading:
    title: str | None = None
    title_norm: str | None = None
    date: str | None = None
    national: bool = False


def _read_heading(text: str, norm: str, paragraphs: list[tuple[int, int]]) -> _Heading:
    """Title, date and national origin from the first lines of a report."""
    found = _Heading()
    for a, b in paragraphs[:6]:
        line = norm[a:b].strip()
        if _NATIONAL_RE.search(line):
            found.national = True
        # "现在，我代表区人民政府，向大会报告政府工作" mentions 报告 but is a sentence, not a title.
        is_title = (len(line) <= 100 and _TITLE_WORD_RE.search(line) is not None and not _ends_sentence(line)
                    and not re.search(r"[，,]", line))
        if found.title is None and is_title:
            found.title = text[a:b].strip()
            found.title_norm = line
            found.date = found.date or _find_date(line)
        elif found.date is None and len(line) <= 80 and re.search(r"会议|大会|日在", line):
            found.date = _find_date(line)
    return found


def _infer_year(date: str | None, plan_year: int | None, title_year: int | None,
                review_year: int | None) -> int | None:
    """The year a report is *for*.

    A report is dated in the year it plans for, except when it is delivered late in the previous year
    (安庆市大观区, 2021-12-29, plans "2022年重点工作任务"): the date's year counts unless the plan section
    names the following year. Without a date: the plan year, the title year, or the year after the
    reviewed one.
    """
    if date is not None:
        date_year = int(date[:4])
        return plan_year if plan_year == date_year + 1 else date_year
    if plan_year is not None:
        return plan_year
    if title_year is not None:
        return title_year
    return review_year + 1 if review_year is not None else None


# ---------------------------------------------------------------------------------------------
# Building a Document


def document_from_text(text: str, path: str = "<text>", *, title: str | None = None,
                       region: str | None = None, year: int | None = None) -> Document:
    """Clean, normalise and segment a report text. Given title/region/year override what is parsed."""
    if not text.strip():
        raise DocumentError(path, "no text")
    clean, offsets = _clean(text)
    if not clean:
        raise DocumentError(path, "no report text left after removing site boilerplate")
    norm = normalize(clean)
    paragraphs = _paragraph_spans(norm)

    spans: list[tuple[int, int, int]] = []
    units: list[tuple[str, bool, bool]] = []
    for p, (a, b) in enumerate(paragraphs):
        in_paragraph = _sentence_spans(clean, a, b)
        for k, (s, e) in enumerate(in_paragraph):
            spans.append((s, e, p))
            units.append((norm[s:e], k == 0, len(in_paragraph) == 1))

    heading = _read_heading(clean, norm, paragraphs)
    title_norm = normalize(title) if title is not None else heading.title_norm
    title_year_match = re.match(r"\s*(\d{4})年", title_norm or "")
    title_year = int(title_year_match.group(1)) if title_year_match else None
    date = heading.date
    ref_year = year if year is not None else int(date[:4]) if date else title_year

    result = _assign_sections(units, ref_year)
    sentences = [Sentence(s, e, clean[s:e], norm[s:e], section, p)
                 for (s, e, p), section in zip(spans, result.sections, strict=True)]

    if region is not None:
        region_name: str | None = normalize(region)
    elif heading.national or (title_norm is not None and "国务院" in title_norm):
        region_name = "全国"
    else:
        region_name = _region_from_title(title_norm) if title_norm else None
    if year is None:
        year = _infer_year(date, result.plan_year, title_year, result.review_year)
    meta = DocMeta(
        title=title if title is not None else heading.title,
        region=region_name,
        level=region_level(region_name) if region_name else None,
        year=year,
        date=date,
    )
    return Document(path=path, source=text, text=clean, norm=norm, offsets=offsets, sentences=sentences,
                    paragraphs=paragraphs, meta=meta)
