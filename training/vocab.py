"""Character-level vocabulary and tokenizer for the govtargets Chinese BERT.

The tokenizer contract, which the tagger relies on to map predictions back to text:
- every non-whitespace character (Unicode code point) is exactly one token, so token i covers
  `text[start:start + 1]` and `return_offsets_mapping=True` gives exact character offsets;
- whitespace (any Unicode White_Space character, incl. U+3000 and newlines) produces no token;
- a character outside the vocabulary becomes one [UNK] (an emoji is one [UNK]; an emoji sequence
  joined with U+200D is one [UNK] per code point);
- case is kept (no lowercasing, no accent stripping): both a-z and A-Z are in the vocabulary, and
  abbreviations in reports (GDP, PM2.5, CPI, 5G) are conventionally upper case. Lowercasing could also
  change a string's length (e.g. "İ" lowercases to two code points) and break the 1:1 mapping.

Why not `BertTokenizer`: its BertPreTokenizer keeps runs of digits and letters together, and WordPiece
then needs "##"-prefixed pieces or turns the whole run into one [UNK]; a run mixing an emoji and
letters becomes a single [UNK] for several characters. Our tokenizer.json therefore splits every
character with its own pre-tokenizer. In transformers 5 the `BertTokenizer` class rebuilds its
pre-tokenizer in `__init__` (ignoring tokenizer.json), so the saved tokenizer_config.json names the
generic `TokenizersBackend` (alias `PreTrainedTokenizerFast`): load it with
`AutoTokenizer.from_pretrained(dir)`, never with `BertTokenizer(Fast)`.

Vocabulary = special tokens + characters of the (normalised) corpus and seeds seen at least
`min_freq` times + fixed sets that must map even when the corpus lacks them: printable ASCII, the
full-width forms U+FF01-FF5E, CJK symbols and punctuation U+3001-303F, common general punctuation,
the GB2312 symbol rows (punctuation, ①⑴Ⅰ numbering, full-width ASCII, Greek) and the 3,755 GB2312
level-1 hanzi, the standard list of the most common simplified characters, built offline from
Python's gb2312 codec.

    python training/vocab.py --output_dir runs/vocab --min_freq 2
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from opencc import OpenCC
from tokenizers import Regex, Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import WordPiece
from transformers import PreTrainedTokenizerFast

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT / "data"

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, CLS, SEP, MASK)

# Punctuation of Chinese reports outside the CJK block and the full-width forms.
GENERAL_PUNCTUATION = "—–‐‑―…‥·•‘’“”′″‰‱※℃℉№±×÷≈≠≤≥∶∽∼°²³¹µ§¶"
# GB2312 rows: 1 punctuation and symbols, 2 numbering (①⑴⒈Ⅰ), 3 full-width ASCII, 6 Greek;
# rows 16-55 are the level-1 hanzi. Kana, Cyrillic, pinyin and box drawing rows are left out.
GB2312_SYMBOL_ROWS: tuple[int, ...] = (1, 2, 3, 6)
GB2312_LEVEL1_ROWS: tuple[int, ...] = tuple(range(16, 56))

# Mirrors the tagger's `Document.norm` (docs/ARCHITECTURE.md): full-width digits, letters and ％ become
# half-width and traditional characters become simplified, so pretraining sees what the tagger sees.
_FULL_TO_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)
                 if chr(cp - 0xFEE0).isalnum() or chr(cp - 0xFEE0) == "%"}
_ODD_SPACES = {cp: " " for cp in (0x00A0, 0x2002, 0x2003, 0x2009, 0x200B, 0x200C, 0x200D, 0x3000, 0xFEFF)}
_NORMALISE_TABLE: dict[int, int | str] = {**_FULL_TO_HALF, **_ODD_SPACES}


@cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def normalise(text: str) -> str:
    """Normalise a text the way the tagger's input is normalised (same length, char by char)."""
    converted = _t2s().convert(text.translate(_NORMALISE_TABLE))
    # opencc's phrase tables could in principle change the length; keep the 1:1 contract if so.
    return converted if len(converted) == len(text) else text.translate(_NORMALISE_TABLE)


def read_texts(data_dir: Path = DEFAULT_DATA_DIR) -> list[str]:
    """The raw texts of the corpus: national reports, local excerpts, seed reports."""
    texts: list[str] = []
    for name in ("national_reports.jsonl", "local_excerpts.jsonl"):
        with open(data_dir / "corpus" / name, encoding="utf-8") as f:
            texts.extend(json.loads(line)["text"] for line in f if line.strip())
    texts.extend(p.read_text(encoding="utf-8") for p in sorted((data_dir / "seeds").glob("*.txt")))
    return texts


def gb2312_characters(rows: Iterable[int]) -> list[str]:
    """The characters of the given GB2312 rows (区), decoded with Python's gb2312 codec."""
    chars: list[str] = []
    for row in rows:
        for cell in range(1, 95):
            try:
                chars.append(bytes([0xA0 + row, 0xA0 + cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue  # unassigned cells
    return chars


def fixed_characters() -> set[str]:
    """Characters that are always in the vocabulary, whether or not the corpus contains them."""
    chars = {chr(cp) for cp in range(0x21, 0x7F)}  # printable ASCII: digits, a-z, A-Z, punctuation
    chars |= {chr(cp) for cp in range(0xFF01, 0xFF5F)}  # full-width forms
    chars |= {chr(cp) for cp in range(0x3001, 0x3040)}  # CJK symbols and punctuation (not U+3000 space)
    chars |= set(GENERAL_PUNCTUATION)
    chars |= set(gb2312_characters(GB2312_SYMBOL_ROWS))
    chars |= set(gb2312_characters(GB2312_LEVEL1_ROWS))
    return chars


def is_token_character(char: str) -> bool:
    """Whitespace never becomes a token, and control/format/unassigned characters are left to [UNK]."""
    return not char.isspace() and unicodedata.category(char) not in ("Cc", "Cf", "Cn", "Co", "Cs")


def build_vocab(normalised_texts: Iterable[str], min_freq: int = 2) -> list[str]:
    """Special tokens, then every vocabulary character in code point order (stable across runs).

    Texts are counted after `normalise`, as the model sees them: traditional characters of the raw
    corpus are therefore not in the vocabulary (they reach the tagger already simplified).
    """
    counts = Counter(char for text in normalised_texts for char in text)
    corpus_chars = {char for char, n in counts.items() if n >= min_freq}
    chars = {char for char in corpus_chars | fixed_characters() if is_token_character(char)}
    return [*SPECIAL_TOKENS, *sorted(chars)]


def build_tokenizer(vocab: list[str], model_max_length: int = 512) -> PreTrainedTokenizerFast:
    """A fast tokenizer over `vocab` with one token per non-whitespace character."""
    token_to_id = {token: i for i, token in enumerate(vocab)}
    backend = Tokenizer(WordPiece(token_to_id, unk_token=UNK))
    # Drop whitespace, then isolate every code point so WordPiece only ever sees one character.
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex("."), behavior="isolated"),
    ])
    backend.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}",
        pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
        special_tokens=[(CLS, token_to_id[CLS]), (SEP, token_to_id[SEP])],
    )
    # Characters are joined back without spaces, which is right for Chinese text.
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token=UNK, pad_token=PAD, cls_token=CLS, sep_token=SEP, mask_token=MASK,
        model_max_length=model_max_length,
    )


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, output_dir: Path) -> None:
    """tokenizer.json + tokenizer_config.json for AutoTokenizer, plus a BERT-style vocab.txt."""
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(output_dir))
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    (output_dir / "vocab.txt").write_text("".join(f"{token}\n" for token, _ in vocab), encoding="utf-8")


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", type=Path, required=True)
    parser.add_argument("--data_dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--min_freq", type=int, default=2)
    parser.add_argument("--model_max_length", type=int, default=512)
    args = parser.parse_args(argv)
    vocab = build_vocab([normalise(text) for text in read_texts(args.data_dir)], args.min_freq)
    save_tokenizer(build_tokenizer(vocab, args.model_max_length), args.output_dir)
    print(f"{len(vocab)} tokens -> {args.output_dir}")
    return args.output_dir


if __name__ == "__main__":
    main()
