"""The gold corpus: every file loads, every span matches its text and the documents, labels are in
the schema, splits are by document, and annotations/README.md's counts are the real ones."""

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from govtargets.data import read_annotations
from govtargets.evaluation import gold_sentences
from govtargets.records import LABELS

ROOT = Path(__file__).resolve().parents[1]
ANNOTATIONS = ROOT / "annotations"
GOLD = sorted((ANNOTATIONS / "gold").glob("*.json"))
IAA = sorted((ANNOTATIONS / "iaa").glob("*.json"))
sys.path.insert(0, str(ROOT / "scripts"))

from annotate import corpus_stats  # noqa: E402


@pytest.mark.parametrize("path", GOLD + IAA, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_file_loads_and_every_span_matches_the_document(path: Path) -> None:
    items = read_annotations(path)  # checks text[start:end] == span text and rejects overlaps
    assert items
    for item in items:
        assert {span.label for span in item.spans} <= set(LABELS)
        for span in item.spans:
            assert item.text[span.start : span.end] == span.text
            assert span.text == span.text.strip()
    # The paragraphs are still exactly where they were in their documents.
    assert sum(len(s.spans) for s in gold_sentences(items)) == sum(len(i.spans) for i in items)


def test_files_are_label_studio_exports() -> None:
    task = json.loads(GOLD[0].read_text(encoding="utf-8"))[0]
    assert {"id", "data", "annotations"} <= set(task)
    assert {"text", "doc", "offset", "key"} <= set(task["data"])
    result = task["annotations"][0]["result"][0]
    assert (result["from_name"], result["to_name"], result["type"]) == ("label", "text", "labels")


def test_splits_are_by_document_and_cover_the_corpus() -> None:
    splits = yaml.safe_load((ANNOTATIONS / "splits.yaml").read_text(encoding="utf-8"))
    names = [name for split in ("train", "dev", "test") for name in splits[split]]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(p.stem for p in GOLD)
    assert any(name.startswith("seed_") for name in splits["test"])
    assert sum(name.startswith("local-") for name in splits["test"]) >= 2


def test_readme_counts_are_current() -> None:
    readme = (ANNOTATIONS / "README.md").read_text(encoding="utf-8")
    written = re.search(r"<!-- stats -->\n(.*)\n<!-- /stats -->", readme, re.S)
    assert written is not None
    actual = corpus_stats(ANNOTATIONS / "gold", ANNOTATIONS / "splits.yaml", ANNOTATIONS / "iaa")
    assert written.group(1).strip() == actual.strip(), "run: python scripts/annotate.py stats"


def test_corpus_size_meets_the_bar() -> None:
    items = [item for path in GOLD for item in read_annotations(path)]
    spans = [span for item in items for span in item.spans]
    assert len(gold_sentences(items)) >= 1500 and len(spans) >= 4500
    assert min(sum(s.label == label for s in spans) for label in LABELS) >= 150
