"""The rule backend: lexicon and pattern based INDICATOR / VALUE / UNIT / PROJECT tagging.

It is the fallback tagger, the Label Studio pre-annotator and the weak labeller for training, so it
prefers precision: a span is emitted only when a pattern of annotations/GUIDE.md matches clearly.
"""

from __future__ import annotations

from govtargets.records import Span
from govtargets.rules import patterns

__all__ = ["RuleBackend", "tag_sentence"]

# Fixed per-pattern confidences: numbers with a unit from the lexicon are near certain, Chinese
# numerals a little less.
_VALUE_SCORE = 0.9
_CHINESE_VALUE_SCORE = 0.8


def tag_sentence(sentence: str) -> list[Span]:
    """Spans of one normalised sentence, sorted and non-overlapping, offsets relative to it."""
    if not sentence.strip():
        return []
    quoted = patterns.quoted_mask(sentence)
    projects = patterns.find_projects(sentence, quoted)
    values = [v for v in patterns.find_values(sentence, quoted)
              if not any(p.start < v.end and v.start < p.end for p in projects)]

    blocked = [False] * len(sentence)
    for p in projects:
        for i in range(p.start, p.end):
            blocked[i] = True
    for v in values:
        for i in range(v.start, v.end):
            blocked[i] = True

    # Priority order: projects, then value/unit pairs, then indicators; later groups never overlap
    # earlier ones.
    groups: list[list[Span]] = []
    for p in projects:
        groups.append([Span("PROJECT", p.start, p.end, sentence[p.start:p.end], p.score)])
    for v in values:
        score = _CHINESE_VALUE_SCORE if v.chinese else _VALUE_SCORE
        groups.append([
            Span("VALUE", v.value[0], v.value[1], sentence[v.value[0]:v.value[1]], score),
            Span("UNIT", v.unit[0], v.unit[1], sentence[v.unit[0]:v.unit[1]], score),
        ])
    for v in values:
        hits = patterns.indicator_before(sentence, v.start, blocked)
        if not hits and v.kind == "count":
            after = patterns.indicator_after(sentence, v.unit[1], blocked)
            hits = [after] if after else []
        for h in hits:
            groups.append([Span("INDICATOR", h.start, h.end, sentence[h.start:h.end], h.score)])

    taken: list[Span] = []
    for group in groups:
        if any(a.start < b.end and b.start < a.end for a in group for b in taken):
            continue
        taken.extend(group)
    return sorted(taken, key=lambda span: (span.start, span.end))


class RuleBackend:
    """Backend protocol implementation (see govtargets.records.Backend)."""

    name = "rules"

    def tag(self, sentences: list[str]) -> list[list[Span]]:
        return [tag_sentence(sentence) for sentence in sentences]
