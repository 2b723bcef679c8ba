"""Tagging documents together: the same spans and records as one at a time, in fewer backend calls."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from govtargets.documents import document_from_text, read_file
from govtargets.pipeline import (
    document_groups,
    extract_document,
    extract_documents,
    tag_document,
    tag_documents,
    tagged_documents,
)
from govtargets.records import Span
from govtargets.rules import RuleBackend

SEEDS = Path(__file__).resolve().parents[1] / "data" / "seeds"


class CountingRules(RuleBackend):
    """The real rule backend, counting its calls and the sentences it was given."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def tag(self, sentences: list[str]) -> list[list[Span]]:
        self.calls.append(len(sentences))
        return super().tag(sentences)


@pytest.fixture(scope="module")
def seed_docs() -> list:
    return [doc for path in sorted(SEEDS.glob("*.txt")) for doc in read_file(path, display=path.name)]


def test_groups_are_whole_documents_in_order() -> None:
    docs = [document_from_text("第一句。第二句。"), document_from_text("一句。"), document_from_text("甲。乙。丙。")]
    sizes = [len(doc.sentences) for doc in docs]
    assert sizes == [2, 1, 3]
    assert [[docs.index(d) for d in g] for g in document_groups(docs, max_sentences=3)] == [[0, 1], [2]]
    assert [[docs.index(d) for d in g] for g in document_groups(docs, max_sentences=100)] == [[0, 1, 2]]
    assert [len(g) for g in document_groups(docs, max_sentences=1)] == [1, 1, 1]
    assert list(document_groups([], max_sentences=3)) == []


def test_documents_tagged_together_match_one_at_a_time(seed_docs: list) -> None:
    rules = CountingRules()
    together = tag_documents(seed_docs, rules)
    assert rules.calls == [sum(len([s for s in d.sentences if s.norm.strip()]) for d in seed_docs)]
    alone = [tag_document(doc, RuleBackend()) for doc in seed_docs]
    assert together == alone
    for doc, tagged in zip(seed_docs, together, strict=True):
        for sentence, spans in tagged:
            for span in spans:
                assert sentence.text[span.start : span.end] == span.text
                assert doc.text[sentence.start + span.start : sentence.start + span.end] == span.text


def test_tagged_documents_calls_the_backend_once_per_group(seed_docs: list) -> None:
    rules = CountingRules()
    pairs = list(tagged_documents(iter(seed_docs), rules, max_sentences=1))  # every document is a group
    assert [doc for doc, _ in pairs] == seed_docs and len(rules.calls) == len(seed_docs)
    assert [tagged for _, tagged in pairs] == tag_documents(seed_docs, RuleBackend())


def test_extract_documents_matches_extract_document(seed_docs: list) -> None:
    grouped = list(extract_documents(seed_docs, RuleBackend()))
    assert [doc for doc, _ in grouped] == seed_docs
    assert [records for _, records in grouped] == [extract_document(doc, RuleBackend()) for doc in seed_docs]
    assert sum(len(records) for _, records in grouped) > 0


def test_documents_without_sentences_and_no_documents() -> None:
    rules = CountingRules()
    text = document_from_text("今年地区生产总值增长6%左右。")
    # No sentence to tag (segmentation can leave a document with only blank ones).
    empty = replace(text, sentences=[])
    tagged = tag_documents([empty, text, empty], rules)
    assert tagged[0] == [] and tagged[2] == []
    assert [(s.label, s.text) for s in tagged[1][0][1]][:2] == [("INDICATOR", "地区生产总值"), ("VALUE", "6")]
    assert tag_documents([], rules) == [] and tag_documents([empty], rules) == [[]]
    assert rules.calls == [1]  # no backend call without sentences


def test_a_backend_that_loses_sentences_is_an_error() -> None:
    class Short(RuleBackend):
        def tag(self, sentences: list[str]) -> list[list[Span]]:
            return super().tag(sentences)[:-1]

    docs = [document_from_text("甲增长5%。"), document_from_text("乙增长6%。")]
    with pytest.raises(ValueError, match="returned 1 results for 2 sentences"):
        tag_documents(docs, Short())
