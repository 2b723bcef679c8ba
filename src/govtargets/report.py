"""A self-contained HTML review page: document text with labelled spans, a sortable targets table whose
rows jump to their evidence, filters, and a per-document summary.

Pure rendering: no file or network access. The page has no external assets (inline CSS and JS), so
it can be mailed around and opened offline. Everything is built by appending to lists and joining
once, and highlights come from one sweep over sorted span boundaries, so large documents stay fast.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from govtargets.records import LABELS, Record, Span

if TYPE_CHECKING:
    from govtargets.documents import Document, Sentence

# Record fields whose source span gets the colour of the matching entity label.
FIELD_LABELS: dict[str, str] = {
    "indicator": "INDICATOR", "value": "VALUE", "unit": "UNIT", "project": "PROJECT",
}
KEY_FIELDS: tuple[str, ...] = ("value", "project")
COMPARATOR_SIGNS: dict[str, str] = {"~": "≈", ">=": "≥", ">": ">", "<=": "≤", "<": "<", "=": "="}
# Shown between the sentences of a records-only view, whose text is not the whole document.
EXCERPT_GAP = "\n\n"


@dataclass
class DocView:
    """What the page shows for one document.

    `text` is the document source (or, built from records alone, its sentences that have records);
    `spans` and every `evidence` range are offsets into `text`; `evidence[i]` belongs to `records[i]`.
    """

    key: str
    text: str
    spans: list[Span]
    records: list[Record]
    evidence: list[dict[str, tuple[int, int]]]
    title: str | None = None
    region: str | None = None
    level: str | None = None
    year: int | None = None
    excerpt: bool = False


def _clamp_range(start: int, end: int, length: int) -> tuple[int, int] | None:
    start, end = max(0, start), min(length, end)
    return (start, end) if start < end else None


def view_from_document(
    doc: Document, tagged: list[tuple[Sentence, list[Span]]], records: list[Record]
) -> DocView:
    """A view of a whole document: tagged spans are sentence-relative clean offsets and are moved to
    the source; records are already grounded in the source by the pipeline."""
    text = doc.source
    spans: list[Span] = []
    for sentence, sentence_spans in tagged:
        for span in sentence_spans:
            start, end = doc.to_source(sentence.start + span.start, sentence.start + span.end)
            if start < end:
                spans.append(Span(span.label, start, end, text[start:end], span.score))
    evidence: list[dict[str, tuple[int, int]]] = []
    for record in records:
        ranges: dict[str, tuple[int, int]] = {}
        for name, (start, end) in record.spans.items():
            clamped = _clamp_range(start, end, len(text))
            if clamped:
                ranges[name] = clamped
        evidence.append(ranges)
    meta = doc.meta
    return DocView(
        key=doc.path, text=text, spans=spans, records=list(records), evidence=evidence,
        title=meta.title, region=meta.region, level=meta.level, year=meta.year,
    )


def _locate(sentence: str, start: int, end: int, expected: str | None) -> tuple[int, int] | None:
    """Sentence-relative range of a record field. The record's offsets index the document source, while
    its `sentence` is the cleaned text, so a repaired page break before the field shifts them; then the
    field's own text, searched nearest the expected place, is the better anchor."""
    clamped = _clamp_range(start, end, len(sentence))
    if not expected or (clamped and sentence[clamped[0] : clamped[1]] == expected):
        return clamped
    hits: list[int] = []
    at = sentence.find(expected)
    while at != -1:
        hits.append(at)
        at = sentence.find(expected, at + 1)
    if not hits:
        return None
    best = min(hits, key=lambda hit: abs(hit - start))
    return best, best + len(expected)


def _field_text(record: Record, name: str) -> str | None:
    """The text a field span should cover, when the record carries it as written."""
    if name in ("indicator", "unit", "project", "action"):
        value = getattr(record, name)
        return value if isinstance(value, str) and value else None
    return None


def views_from_records(records: list[Record]) -> list[DocView]:
    """Views built from extract records alone: each document shows only its sentences that have records."""
    by_doc: dict[str, list[Record]] = {}
    for record in records:
        by_doc.setdefault(record.doc, []).append(record)
    views: list[DocView] = []
    for key, doc_records in by_doc.items():
        sentences = sorted({(r.sentence_start, r.sentence) for r in doc_records})
        parts: list[str] = []
        where: dict[tuple[int, str], int] = {}
        position = 0
        for sentence_key in sentences:
            if parts:
                parts.append(EXCERPT_GAP)
                position += len(EXCERPT_GAP)
            where[sentence_key] = position
            parts.append(sentence_key[1])
            position += len(sentence_key[1])
        text = "".join(parts)
        evidence: list[dict[str, tuple[int, int]]] = []
        spans: dict[tuple[str, int, int], Span] = {}
        for record in doc_records:
            offset = where[(record.sentence_start, record.sentence)]
            ranges: dict[str, tuple[int, int]] = {}
            for name, (start, end) in record.spans.items():
                located = _locate(record.sentence, start - record.sentence_start, end - record.sentence_start,
                                  _field_text(record, name))
                if located is None:
                    continue
                ranges[name] = (located[0] + offset, located[1] + offset)
                label = FIELD_LABELS.get(name)
                if label:
                    span_start, span_end = ranges[name]
                    score = record.confidence if record.confidence is not None else 1.0
                    spans.setdefault((label, span_start, span_end),
                                     Span(label, span_start, span_end, text[span_start:span_end], score))
            evidence.append(ranges)
        first = doc_records[0]
        span_list = sorted(spans.values(), key=lambda s: (s.start, s.end))
        views.append(DocView(
            key=key, text=text, spans=span_list, records=doc_records, evidence=evidence,
            title=None, region=first.region, level=first.level, year=first.year, excerpt=True,
        ))
    return views


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if abs(value) < 1e15 else f"{value:.0f}"


def _render_text(view: DocView, first_id: int, out: list[str]) -> None:
    """The document text with one element per stretch of text that has the same label and records.

    A sweep over the sorted span boundaries keeps this linear in the text length plus the number of
    spans; overlapping ranges (a record's cue word inside nothing, an indicator shared by several
    records) simply become stretches that carry every record id that covers them."""
    text = view.text
    events: dict[int, list[tuple[str, int, bool]]] = {0: [], len(text): []}
    for index, span in enumerate(view.spans):
        events.setdefault(span.start, []).append(("s", index, True))
        events.setdefault(span.end, []).append(("s", index, False))
    for local, ranges in enumerate(view.evidence):
        for name, (start, end) in ranges.items():
            events.setdefault(start, []).append(("r", local, True))
            events.setdefault(end, []).append(("r", local, False))
            # The row jumps to the value (or project) itself; the indicator only when there is neither.
            if name in KEY_FIELDS or (name == "indicator" and not ranges.keys() & set(KEY_FIELDS)):
                events[start].append(("k", local, True))
    active_spans: dict[int, int] = {}
    active_records: Counter[int] = Counter()
    keys_here: list[int] = []
    boundaries = sorted(events)
    for position, following in pairwise(boundaries):
        keys_here = []
        for kind, index, opening in events[position]:
            if kind == "k":
                keys_here.append(index)
            elif kind == "s":
                if opening:
                    active_spans[index] = index
                else:
                    active_spans.pop(index, None)
            elif opening:
                active_records[index] += 1
            else:
                active_records[index] -= 1
                if active_records[index] <= 0:
                    del active_records[index]
        piece = _esc(text[position:following])
        if not active_spans and not active_records:
            out.append(piece)
            continue
        attributes: list[str] = []
        classes = ["hl"]
        titles: list[str] = []
        if active_spans:
            # Tagged spans do not overlap; if a model ever produces overlaps, the earliest wins.
            span = view.spans[min(active_spans)]
            classes.append(f"l-{span.label}")
            titles.append(f"{span.label} · confidence {span.score:.2f}")
        else:
            classes.append("cue")
            names = sorted({name for local in active_records for name, (s, e) in view.evidence[local].items()
                            if s <= position < e})
            titles.append("cue: " + ", ".join(names))
        if active_records:
            ids = " ".join(str(first_id + local) for local in sorted(active_records))
            attributes.append(f' data-r="{ids}"')
        if keys_here:
            attributes.append(f' data-k="{" ".join(str(first_id + local) for local in keys_here)}"')
        out.append(f'<span class="{" ".join(classes)}" title="{_esc("; ".join(titles))}"'
                   f'{"".join(attributes)}>{piece}</span>')


def _doc_name(view: DocView) -> str:
    if view.title:
        return view.title
    name = view.key.replace("\\", "/").rsplit("/", 1)[-1]
    return name or view.key


def _render_summary(views: list[DocView], out: list[str]) -> None:
    out.append('<section class="summary"><h2>Documents</h2><table class="sum"><thead><tr>'
               "<th>document</th><th>region</th><th>level</th><th>year</th><th>targets</th><th>projects</th>"
               "<th>status: target</th><th>status: actual</th>")
    for label in LABELS:
        out.append(f'<th><span class="hl l-{label}">{label}</span></th>')
    out.append("</tr></thead><tbody>")
    for number, view in enumerate(views):
        kinds = Counter(r.kind for r in view.records)
        statuses = Counter(r.status for r in view.records)
        labels = Counter(span.label for span in view.spans)
        link = f'<a href="#doc-{number}" title="{_esc(view.key)}">{_esc(_doc_name(view))}</a>'
        out.append(f"<tr><td>{link}</td>"
                   f"<td>{_esc(view.region)}</td><td>{_esc(view.level)}</td><td>{_esc(view.year)}</td>"
                   f'<td class="n">{kinds["target"]}</td><td class="n">{kinds["project"]}</td>'
                   f'<td class="n">{statuses["target"]}</td><td class="n">{statuses["actual"]}</td>')
        for label in LABELS:
            out.append(f'<td class="n">{labels[label]}</td>')
        out.append("</tr>")
    out.append("</tbody></table></section>")


TABLE_COLUMNS: tuple[str, ...] = (
    "#", "document", "year", "kind", "indicator / project", "value", "unit", "comparator", "measure",
    "status", "action", "conf.",
)


def _render_table(views: list[DocView], out: list[str]) -> int:
    out.append('<table id="records"><thead><tr>')
    for column in TABLE_COLUMNS:
        out.append(f'<th tabindex="0" title="sort by {_esc(column)}">{_esc(column)}</th>')
    out.append("</tr></thead><tbody>")
    record_id = 0
    for number, view in enumerate(views):
        name = _doc_name(view)
        for record in view.records:
            what = record.project if record.kind == "project" else record.indicator
            value = _number(record.value)
            if record.value_max is not None:
                value = f"{value}–{_number(record.value_max)}"
            confidence = "" if record.confidence is None else f"{record.confidence:.2f}"
            comparator = COMPARATOR_SIGNS.get(record.comparator or "", record.comparator or "")
            year = "" if record.year is None else str(record.year)
            # (shown text, sort key or None to sort on the shown text)
            cells = (
                (str(record_id + 1), str(record_id + 1)), (name, None), (year, None), (record.kind, None),
                (what, None), (value, _number(record.value)), (record.unit, None),
                (comparator, record.comparator), (record.measure, None), (record.status, None),
                (record.action, None), (confidence, confidence),
            )
            out.append(f'<tr tabindex="0" data-r="{record_id}" data-doc="{number}"'
                       f' data-kind="{_esc(record.kind)}" data-status="{_esc(record.status)}"'
                       f' data-measure="{_esc(record.measure)}"'
                       f' data-what="{_esc(what)}" title="{_esc(record.sentence)}">')
            for shown, sort_key in cells:
                key_attribute = "" if sort_key is None else f' data-v="{_esc(sort_key)}"'
                out.append(f"<td{key_attribute}>{_esc(shown)}</td>")
            out.append("</tr>")
            record_id += 1
    out.append("</tbody></table>")
    return record_id


def _options(values: Iterable[str | None]) -> str:
    present = sorted({v for v in values if v})
    return "".join(f'<option value="{_esc(v)}">{_esc(v)}</option>' for v in present)


def render_views(views: list[DocView], title: str = "govtargets report") -> str:
    """The whole page for some document views."""
    records = [record for view in views for record in view.records]
    out: list[str] = [
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>",
        f'<header><h1>{_esc(title)}</h1><div class="legend">',
    ]
    for label in LABELS:
        out.append(f'<span class="hl l-{label}">{label}</span>')
    out.append('<span class="hl cue">cue word</span></div>'
               f'<div class="totals">{len(views)} document(s) · {len(records)} record(s)</div></header>')
    _render_summary(views, out)
    out.append('<div class="main"><section class="pane tablepane"><div class="filters">'
               '<label>kind <select id="f-kind"><option value="">all</option>'
               f'{_options(r.kind for r in records)}</select></label>'
               '<label>status <select id="f-status"><option value="">all</option>'
               f'{_options(r.status for r in records)}</select></label>'
               '<label>measure <select id="f-measure"><option value="">all</option>'
               f'{_options(r.measure for r in records)}</select></label>'
               '<label>indicator <input id="f-what" type="search" placeholder="text filter"></label>'
               '<span id="shown"></span></div><div class="tablewrap">')
    _render_table(views, out)
    out.append('</div></section><section class="pane docpane" id="docs">')
    first_id = 0
    for number, view in enumerate(views):
        meta = " · ".join(_esc(part) for part in (view.key, view.region, view.level, view.year) if part)
        note = ' <span class="note">(sentences with records only)</span>' if view.excerpt else ""
        out.append(f'<article class="doc" id="doc-{number}"><h2>{_esc(_doc_name(view))}{note}</h2>'
                   f'<div class="meta">{meta}</div><div class="text">')
        _render_text(view, first_id, out)
        out.append("</div></article>")
        first_id += len(view.records)
    out.append(f"</section></div><script>{SCRIPT}</script></body></html>\n")
    return "".join(out)


def render_report(docs: list[tuple[Document, list[tuple[Sentence, list[Span]]], list[Record]]]) -> str:
    """The page for documents with their tagged sentences (see pipeline.tag_document) and grounded records."""
    return render_views([view_from_document(doc, tagged, records) for doc, tagged, records in docs])


def render_records_report(records: list[Record]) -> str:
    """The page for extract records alone, showing the sentences they come from."""
    return render_views(views_from_records(records))


CSS = """
:root { --ind: #cfe2ff; --ind-b: #3b7ddd; --val: #ffd9a8; --val-b: #e07b00; --unit: #c8efc8;
  --unit-b: #2e9a3e; --proj: #ead7ff; --proj-b: #8a4fd8; --line: #d9dde3; }
* { box-sizing: border-box; }
html, body { height: 100%; }
body { display: flex; flex-direction: column; margin: 0; color: #1d2330; background: #f6f7f9;
  font: 14px/1.5 "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", system-ui,
  sans-serif; }
header { flex: none; display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: baseline; padding: 10px 16px;
  background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 15px; margin: 0 0 4px; }
.legend .hl { margin-right: 6px; padding: 1px 6px; font-size: 12px; }
.totals, .meta, .note, #shown { color: #5b6472; font-size: 12px; font-weight: normal; }
.summary { flex: none; padding: 8px 16px; max-height: 24vh; overflow: auto; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid var(--line); padding: 2px 6px; text-align: left; vertical-align: top; }
td.n { text-align: right; }
.sum th { background: #eef1f5; font-weight: 600; }
.main { flex: 1; display: grid; grid-template-columns: minmax(0, 11fr) minmax(0, 9fr); gap: 10px;
  padding: 0 16px 12px; min-height: 360px; }
/* Containment keeps a re-sorted table from re-laying out the documents, and the other way round. */
.pane { overflow: auto; background: #fff; border: 1px solid var(--line); border-radius: 4px;
  contain: strict; }
.tablepane { display: flex; flex-direction: column; overflow: hidden; }
.tablewrap { flex: 1; overflow: auto; }
.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; padding: 6px 8px;
  border-bottom: 1px solid var(--line); }
.filters select, .filters input { font: inherit; }
#records { width: 100%; font-size: 12.5px; }
#records th, #records td { padding: 2px 5px; }
#records th { position: sticky; top: 0; z-index: 1; background: #eef1f5; cursor: pointer;
  user-select: none; white-space: nowrap; }
#records th[aria-sort="ascending"]::after { content: " ▲"; }
#records th[aria-sort="descending"]::after { content: " ▼"; }
#records tbody tr { cursor: pointer; }
#records tbody tr:hover { background: #f1f6ff; }
#records tbody tr.sel { background: #fff4cc; }
#records td { white-space: nowrap; }
#records td:nth-child(2) { max-width: 7em; overflow: hidden; text-overflow: ellipsis; }
#records td:nth-child(5) { white-space: normal; min-width: 8em; }
/* Off-screen documents are not laid out until scrolled to: long corpora open fast. */
.doc { padding: 10px 14px; border-bottom: 1px solid var(--line); content-visibility: auto;
  contain-intrinsic-size: auto 1200px; }
.text { white-space: pre-wrap; word-break: break-word; line-height: 1.9; font-size: 15px; }
.hl { border-radius: 2px; }
.l-INDICATOR { background: var(--ind); box-shadow: inset 0 -2px 0 var(--ind-b); }
.l-VALUE { background: var(--val); box-shadow: inset 0 -2px 0 var(--val-b); }
.l-UNIT { background: var(--unit); box-shadow: inset 0 -2px 0 var(--unit-b); }
.l-PROJECT { background: var(--proj); box-shadow: inset 0 -2px 0 var(--proj-b); }
.cue { text-decoration: underline dotted #7a8394; text-underline-offset: 3px; }
.text [data-r] { cursor: pointer; }
.flash { animation: flash 1.6s ease-out; outline: 2px solid #e03131; outline-offset: 1px; }
@keyframes flash { 0%, 40% { background: #ffe066; } }
@media (max-width: 900px) { html, body { height: auto; } body { display: block; }
  .main { grid-template-columns: 1fr; } .pane { max-height: 70vh; } }
"""

# Rows and highlights refer to each other by record id: a row has data-r="7", the highlighted text
# of record 7 has data-r containing 7 (and data-k on the value or project it is about).
SCRIPT = """
(function () {
  'use strict';
  var table = document.getElementById('records');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var headers = table.tHead.rows[0].cells;
  var flashed = [];
  // One collator for the whole sort: localeCompare with a locale builds one per comparison.
  var collator = new Intl.Collator('zh-CN');

  function flash(elements) {
    flashed.forEach(function (el) { el.classList.remove('flash'); });
    elements.forEach(function (el) { void el.offsetWidth; el.classList.add('flash'); });
    flashed = elements;
  }

  function showRecord(row) {
    var id = row.getAttribute('data-r');
    rows.forEach(function (r) { r.classList.remove('sel'); });
    row.classList.add('sel');
    var docs = document.getElementById('docs');
    var parts = Array.prototype.slice.call(docs.querySelectorAll('[data-r~="' + id + '"]'));
    var target = docs.querySelector('[data-k~="' + id + '"]') || parts[0];
    if (!target) {
      target = document.getElementById('doc-' + row.getAttribute('data-doc'));
      if (target) { target.scrollIntoView({block: 'start'}); }
      return;
    }
    target.scrollIntoView({block: 'center', inline: 'nearest'});
    flash(parts);
  }

  body.addEventListener('click', function (event) {
    var row = event.target.closest('tr');
    if (row) { showRecord(row); }
  });
  body.addEventListener('keydown', function (event) {
    var row = event.target.closest('tr');
    if (row && event.key === 'Enter') { showRecord(row); }
  });

  document.getElementById('docs').addEventListener('click', function (event) {
    var piece = event.target.closest('[data-r]');
    if (!piece) { return; }
    var ids = piece.getAttribute('data-r').split(' ');
    for (var i = 0; i < ids.length; i++) {
      var row = body.querySelector('tr[data-r="' + ids[i] + '"]');
      if (row && !row.hidden) {
        rows.forEach(function (r) { r.classList.remove('sel'); });
        row.classList.add('sel');
        row.scrollIntoView({block: 'center'});
        flash([row]);
        return;
      }
    }
  });

  function sortKey(row, column) {
    var cell = row.cells[column];
    var raw = cell.hasAttribute('data-v') ? cell.getAttribute('data-v') : cell.textContent;
    return raw;
  }

  function sortBy(column) {
    var header = headers[column];
    var ascending = header.getAttribute('aria-sort') !== 'ascending';
    for (var i = 0; i < headers.length; i++) { headers[i].removeAttribute('aria-sort'); }
    header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var keyed = rows.map(function (row, index) { return [sortKey(row, column), index, row]; });
    var numeric = keyed.every(function (k) { return k[0] === '' || isFinite(Number(k[0])); });
    if (numeric) {
      keyed.forEach(function (k) { if (k[0] !== '') { k[0] = Number(k[0]); } });
    }
    var direction = ascending ? 1 : -1;
    keyed.sort(function (a, b) {
      if (a[0] === '' || b[0] === '') {
        return a[0] === b[0] ? a[1] - b[1] : (a[0] === '' ? 1 : -1);
      }
      var order = numeric ? a[0] - b[0] : collator.compare(a[0], b[0]);
      return order === 0 ? a[1] - b[1] : order * direction;
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (k) { fragment.appendChild(k[2]); });
    body.appendChild(fragment);
    rows = keyed.map(function (k) { return k[2]; });
  }

  Array.prototype.forEach.call(headers, function (header, column) {
    header.addEventListener('click', function () { sortBy(column); });
    header.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') { sortBy(column); }
    });
  });

  var filters = {
    kind: document.getElementById('f-kind'),
    status: document.getElementById('f-status'),
    measure: document.getElementById('f-measure'),
    what: document.getElementById('f-what')
  };
  var shown = document.getElementById('shown');

  function applyFilters() {
    var text = filters.what.value.trim().toLowerCase();
    var count = 0;
    rows.forEach(function (row) {
      var visible = (!filters.kind.value || row.getAttribute('data-kind') === filters.kind.value) &&
        (!filters.status.value || row.getAttribute('data-status') === filters.status.value) &&
        (!filters.measure.value || row.getAttribute('data-measure') === filters.measure.value) &&
        (!text || row.getAttribute('data-what').toLowerCase().indexOf(text) !== -1);
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = count + ' of ' + rows.length + ' rows';
  }

  ['kind', 'status', 'measure'].forEach(function (name) {
    filters[name].addEventListener('change', applyFilters);
  });
  filters.what.addEventListener('input', applyFilters);
  applyFilters();
})();
"""
