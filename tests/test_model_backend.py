"""The shipped model as the default backend: loads offline, tags the seeds, windows long sentences,
and keeps exact offsets on full-width, traditional and emoji text."""

from pathlib import Path

import pytest

from govtargets.data import BIO_TAGS
from govtargets.documents import document_from_text
from govtargets.pipeline import DEFAULT_MODEL_DIR, default_backend_name, extract_document, get_backend
from govtargets.tagging import ModelBackend

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model() -> ModelBackend:
    backend = get_backend("model")
    assert isinstance(backend, ModelBackend)
    return backend


def test_the_shipped_model_is_the_default_and_fits_the_budget() -> None:
    assert default_backend_name() == "model"
    files = {p.name: p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir() if p.is_file()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "MODEL_CARD.md", "metrics.json"} <= set(files)
    assert sum(files.values()) <= 30 * 1024 * 1024


def test_labels_are_the_bio_tags(model: ModelBackend) -> None:
    assert [model.id2label[i] for i in range(len(BIO_TAGS))] == list(BIO_TAGS)


def test_extracts_the_gdp_target_of_seed_000(model: ModelBackend) -> None:
    text = "今年工作的主要预期目标是:地区生产总值增长7%左右,一般公共预算收入增长5%,固定资产投资增长10%。"
    records = extract_document(document_from_text(text), model)
    gdp = [(r.indicator, r.value, r.unit, r.comparator, r.measure) for r in records if r.value == 7.0]
    assert ("地区生产总值", 7.0, "%", "~", "growth") in gdp


def test_long_sentences_are_windowed_not_truncated(model: ModelBackend) -> None:
    tail = "地区生产总值增长7%左右"
    sentence = "、".join(["推进产业转型升级和城乡融合发展"] * 60) + "，" + tail  # ~1,000 characters, one sentence
    [spans] = model.tag([sentence])
    assert len(sentence) > 3 * 256
    found = {(s.label, s.text) for s in spans if s.start >= len(sentence) - len(tail)}
    assert ("VALUE", "7") in found and ("UNIT", "%") in found
    for span in spans:
        assert sentence[span.start : span.end] == span.text


@pytest.mark.parametrize(
    "text",
    ["地區生產總值增長８％左右，實際使用外資１.１億美元。", "🎉🎉地区生产总值增长7%左右，😀实际使用外资1.1亿美元。"],
)
def test_offsets_survive_traditional_full_width_and_emoji(model: ModelBackend, text: str) -> None:
    doc = document_from_text(text)
    records = extract_document(doc, model)
    assert any(r.value == 8.0 or r.value == 7.0 for r in records)
    for record in records:
        for field in ("indicator", "unit"):
            if getattr(record, field) is not None:
                start, end = record.spans[field]
                assert doc.source[start:end] == getattr(record, field)


def test_documents_tagged_together_get_the_spans_they_get_alone(model: ModelBackend) -> None:
    # Pooled documents land in other batches with other padding: the spans must not change.
    from govtargets.documents import read_file
    from govtargets.pipeline import tag_document, tag_documents

    docs = [doc for path in sorted((ROOT / "data" / "seeds").glob("00[12]_*.txt")) for doc in read_file(path)]
    assert len(docs) == 2
    together = tag_documents(docs, model)
    for doc, tagged in zip(docs, together, strict=True):
        alone = tag_document(doc, model)
        pooled = [span for _, spans in tagged for span in spans]
        single = [span for _, spans in alone for span in spans]
        assert pooled and [(s.label, s.start, s.end) for s in pooled] == [(s.label, s.start, s.end) for s in single]
        assert max(abs(a.score - b.score) for a, b in zip(pooled, single, strict=True)) < 1e-5


def test_batches_run_side_by_side_give_what_one_thread_gives() -> None:
    import torch

    from govtargets.documents import read_file
    from govtargets.tagging import TaggingError

    doc = read_file(next((ROOT / "data" / "seeds").glob("002_*.txt")))[0]
    sentences = [s.norm for s in doc.sentences if s.norm.strip()]
    one = ModelBackend(DEFAULT_MODEL_DIR, threads=1, batch_size=4)
    three = ModelBackend(DEFAULT_MODEL_DIR, threads=3, batch_size=4)  # more workers than cores is allowed
    before = torch.get_num_threads()
    alone, side_by_side = one.tag(sentences), three.tag(sentences)
    assert torch.get_num_threads() == before  # the batches' thread count is put back
    assert len(sentences) > 3 * 4 and any(alone)
    pairs = [(a, b) for x, y in zip(alone, side_by_side, strict=True) for a, b in zip(x, y, strict=True)]
    assert [[(s.label, s.start, s.end) for s in spans] for spans in side_by_side] == \
        [[(s.label, s.start, s.end) for s in spans] for spans in alone]
    assert max(abs(a.score - b.score) for a, b in pairs) < 1e-5
    with pytest.raises(TaggingError, match="threads must be at least 1"):
        ModelBackend(DEFAULT_MODEL_DIR, threads=0)
