"""Annotation worksheets: how the gold corpus in annotations/ is made and kept in Label Studio's format.

Reviewers correct a plain-text worksheet in which each task (a paragraph, exactly as `govtargets ls
push` would create it) carries the rule backend's suggestions as inline marks:

    ⟦I|地区生产总值⟧增长⟦V|7⟧⟦U|%⟧左右

(I = INDICATOR, V = VALUE, U = UNIT, P = PROJECT). `compile` strips the marks, checks that the text
is the task's text character for character (whitespace aside), and writes Label Studio export JSON.

    python scripts/annotate.py make SELECTION.yaml --out-dir work/       # one worksheet per batch
    python scripts/annotate.py compile work/batch_01.txt -o annotations/batch_01.json
    python scripts/annotate.py agreement annotations/x.json annotations/iaa/x.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from govtargets.data import LabeledText, check_spans, read_annotations, spans_to_results
from govtargets.documents import Document, read_file
from govtargets.labelstudio import document_tasks, model_version
from govtargets.pipeline import get_backend, tag_document
from govtargets.records import LABELS, Span

CODES = {"I": "INDICATOR", "V": "VALUE", "U": "UNIT", "P": "PROJECT"}
CODE_OF = {label: code for code, label in CODES.items()}
MARK = re.compile(r"⟦([IVUP])\|([^⟦⟧]*)⟧")
HEADER = re.compile(r"^### task (?P<key>[0-9a-f]+) \| (?P<doc>.+?) \| offset (?P<offset>\d+)$")
# A paragraph is annotated when it holds a number or a named project (the corpus scope of issue 4).
NUMBERISH = re.compile(r"[0-9０-９]|[一二两三四五六七八九十百千万亿]+[个%％倍万亿元人吨家项所户座条次]|百分之")
PROJECTISH = re.compile(r"项目|工程|开工|竣工|投产|投用|签约|落地|产业园|基地")


@dataclass
class Task:
    key: str
    doc: str
    offset: int
    text: str
    data: dict[str, Any]
    suggestions: list[Span]


def load_documents(selection: dict[str, Any]) -> list[Document]:
    """Documents named in a selection file: {files: [...], jsonl: {path: [ids or line numbers]}}."""
    docs: list[Document] = []
    for path in selection.get("files", []):
        docs.extend(read_file(path, display=path))
    for path, wanted in (selection.get("jsonl") or {}).items():
        wanted_ids = {str(w) for w in wanted}
        docs.extend(d for d in read_file(path, display=path) if d.path.rsplit("#", 1)[1] in wanted_ids)
    return docs


def in_scope(text: str, suggestions: list[Span]) -> bool:
    return bool(NUMBERISH.search(text) or PROJECTISH.search(text) or suggestions)


def document_worklist(doc: Document, with_suggestions: bool = True) -> list[Task]:
    backend = get_backend("rules")
    tasks = document_tasks(doc, tag_document(doc, backend), "paragraph", model_version(backend))
    result = []
    for task in tasks:
        data = task["data"]
        suggestions = [
            Span(r["value"]["labels"][0], r["value"]["start"], r["value"]["end"], r["value"]["text"])
            for r in task["predictions"][0]["result"]
        ]
        if in_scope(data["text"], suggestions):
            result.append(Task(data["key"], data["doc"], data["offset"], data["text"], data,
                               suggestions if with_suggestions else []))
    return result


def render(text: str, spans: Iterable[Span]) -> str:
    out, at = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        out.append(text[at : span.start])
        out.append(f"⟦{CODE_OF[span.label]}|{text[span.start : span.end]}⟧")
        at = span.end
    out.append(text[at:])
    return "".join(out)


def worksheet(tasks: list[Task]) -> str:
    blocks = [f"### task {t.key} | {t.doc} | offset {t.offset}\n{render(t.text, t.suggestions)}\n" for t in tasks]
    return "\n".join(blocks)


def parse_marked(marked: str) -> tuple[str, list[Span]]:
    """Marked text → (plain text, spans). Raises ValueError on a broken mark."""
    plain: list[str] = []
    spans: list[Span] = []
    at = 0
    length = 0
    for match in MARK.finditer(marked):
        before = marked[at : match.start()]
        plain.append(before)
        length += len(before)
        inner = match.group(2)
        spans.append(Span(CODES[match.group(1)], length, length + len(inner), inner))
        plain.append(inner)
        length += len(inner)
        at = match.end()
    rest = marked[at:]
    if "⟦" in rest or "⟧" in rest or any("⟦" in p or "⟧" in p for p in plain):
        raise ValueError("an unbalanced or malformed ⟦…⟧ mark")
    plain.append(rest)
    return "".join(plain), spans


def align(plain: str, spans: list[Span], text: str) -> list[Span]:
    """Move spans from `plain` onto `text` when both have the same non-whitespace characters."""
    def visible(s: str) -> list[int]:
        return [i for i, ch in enumerate(s) if not ch.isspace()]

    plain_idx, text_idx = visible(plain), visible(text)
    if [plain[i] for i in plain_idx] != [text[i] for i in text_idx]:
        for a, b in zip(plain_idx, text_idx, strict=False):
            if plain[a] != text[b]:
                raise ValueError(f"text differs from the task near …{text[max(0, b - 10) : b + 10]}… "
                                 f"(worksheet has …{plain[max(0, a - 10) : a + 10]}…)")
        raise ValueError(f"text length differs from the task ({len(plain_idx)} vs {len(text_idx)} characters)")
    position = {p: t for p, t in zip(plain_idx, text_idx, strict=True)}
    moved = []
    for span in spans:
        inner = [i for i in range(span.start, span.end) if not plain[i].isspace()]
        if not inner:
            raise ValueError(f"empty {span.label} mark")
        start, end = position[inner[0]], position[inner[-1]] + 1
        moved.append(Span(span.label, start, end, text[start:end]))
    return moved


def read_worksheet(path: Path) -> list[tuple[str, str, int, str]]:
    """(key, doc, offset, marked text) per task block."""
    blocks: list[tuple[str, str, int, str]] = []
    current: tuple[str, str, int] | None = None
    lines: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        header = HEADER.match(line.strip())
        if header:
            if current:
                blocks.append((*current, "\n".join(lines).strip()))
            current = (header["key"], header["doc"], int(header["offset"]))
            lines = []
        elif current:
            lines.append(line)
        elif line.strip():
            raise ValueError(f"{path}:{number}: text before the first task header")
    if current:
        blocks.append((*current, "\n".join(lines).strip()))
    return blocks


def tasks_by_key(doc_ids: set[str]) -> dict[str, Task]:
    """Recreate the tasks of the documents a worksheet names, to check its text against them."""
    found: dict[str, Task] = {}
    files: dict[str, list[str]] = {}
    for doc_id in doc_ids:
        path, _, line = doc_id.partition("#")
        files.setdefault(path, []).append(line)
    for path, lines in files.items():
        selection = {"jsonl": {path: lines}} if path.endswith(".jsonl") else {"files": [path]}
        for doc in load_documents(selection):
            for task in document_worklist(doc, with_suggestions=False):
                found[task.key] = task
    return found


def compile_worksheets(paths: list[Path], annotator: str) -> tuple[list[dict[str, Any]], list[str]]:
    blocks = [(path, block) for path in paths for block in read_worksheet(path)]
    known = tasks_by_key({doc for _, (_, doc, _, _) in blocks})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    tasks: list[dict[str, Any]] = []
    problems: list[str] = []
    for path, (key, doc, offset, marked) in blocks:
        where = f"{path.name} task {key} ({doc} offset {offset})"
        task = known.get(key)
        if task is None:
            problems.append(f"{where}: no such task in the document (header edited?)")
            continue
        try:
            plain, spans = parse_marked(marked)
            spans = check_spans(task.text, align(plain, spans, task.text), where)
            result = spans_to_results(task.text, spans, (), where)
        except ValueError as err:
            problems.append(f"{where}: {err}")
            continue
        tasks.append({
            "id": len(tasks) + 1,
            "data": task.data,
            "annotations": [{
                "id": len(tasks) + 1, "result": result, "was_cancelled": False, "ground_truth": False,
                "completed_by": annotator, "created_at": now, "updated_at": now,
            }],
            "predictions": [],
        })
    return tasks, problems


def doc_slug(doc: str, year: int | None) -> str:
    """A file name for a document id: seed_000, national_1985, local-01."""
    path, _, line = doc.partition("#")
    name = Path(path).stem
    if name.startswith(("0", "1")) and "_" in name:
        return f"seed_{name.split('_')[0]}"
    if "national" in name:
        return f"national_{year}"
    return line or name


def entity_agreement(first: list[LabeledText], second: list[LabeledText]) -> dict[str, dict[str, float]]:
    """Exact-match entity F1 per label between two annotations of the same tasks (by task key)."""
    by_key = {item.meta.get("key"): item for item in first}
    counts = {label: [0, 0, 0] for label in LABELS}  # both, only first, only second
    for other in second:
        mine = by_key.get(other.meta.get("key"))
        if mine is None:
            continue
        a = {(s.label, s.start, s.end) for s in mine.spans}
        b = {(s.label, s.start, s.end) for s in other.spans}
        for label in LABELS:
            la = {x for x in a if x[0] == label}
            lb = {x for x in b if x[0] == label}
            counts[label][0] += len(la & lb)
            counts[label][1] += len(la - lb)
            counts[label][2] += len(lb - la)
    scores: dict[str, dict[str, float]] = {}
    for label, (both, only_a, only_b) in counts.items():
        f1 = 2 * both / (2 * both + only_a + only_b) if both + only_a + only_b else 1.0
        scores[label] = {"f1": round(f1, 4), "agreed": both, "first_only": only_a, "second_only": only_b}
    return scores


def corpus_stats(gold_dir: Path, splits_file: Path, iaa_dir: Path | None = None) -> str:
    """The markdown tables of annotations/README.md (between its stats markers): counts per split
    and label, and agreement of the second annotation with the gold."""
    from govtargets.evaluation import gold_sentences

    splits = yaml.safe_load(splits_file.read_text(encoding="utf-8"))
    header = "| split | documents | tasks | sentences | with entities | " + " | ".join(LABELS) + " | entities |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    totals = [0] * (5 + len(LABELS))
    for name in ("train", "dev", "test"):
        items = [item for stem in splits[name] for item in read_annotations(gold_dir / f"{stem}.json")]
        sentences = gold_sentences(items)
        per_label = [sum(1 for i in items for s in i.spans if s.label == label) for label in LABELS]
        row = [len(splits[name]), len(items), len(sentences), sum(1 for s in sentences if s.spans), *per_label,
               sum(per_label)]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        lines.append(f"| {name} | " + " | ".join(map(str, row)) + " |")
    lines.append("| all | " + " | ".join(map(str, totals)) + " |")
    if iaa_dir is not None:
        second = [item for path in sorted(iaa_dir.glob("*.json")) for item in read_annotations(path)]
        keys = {item.meta.get("key") for item in second}
        first = [item for path in sorted(gold_dir.glob("*.json")) for item in read_annotations(path)
                 if item.meta.get("key") in keys]
        share = len(gold_sentences(second)) / max(1, totals[2])
        lines += ["", f"Second annotation: {len(second)} tasks, {len(gold_sentences(second))} sentences "
                  f"({share:.1%} of all sentences).", "",
                  "| label | entity F1 | agreed | gold only | second only |", "|---|---|---|---|---|"]
        for label, score in entity_agreement(first, second).items():
            lines.append(f"| {label} | {score['f1']:.3f} | {score['agreed']} | {score['first_only']} | "
                         f"{score['second_only']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make", help="write worksheets for the documents of a selection file")
    make.add_argument("selection", type=Path)
    make.add_argument("--out-dir", type=Path, required=True)
    make.add_argument("--chars", type=int, default=9000, help="characters of text per worksheet")
    make.add_argument("--bare", action="store_true", help="no suggestions (independent second annotation)")
    comp = sub.add_parser("compile", help="worksheets → one Label Studio export JSON per document")
    comp.add_argument("worksheets", type=Path, nargs="+")
    comp.add_argument("--out-dir", type=Path, required=True)
    comp.add_argument("--annotator", default="govtargets-annotators")
    stats = sub.add_parser("stats", help="the count and agreement tables of annotations/README.md")
    stats.add_argument("--gold", type=Path, default=Path("annotations/gold"))
    stats.add_argument("--splits", type=Path, default=Path("annotations/splits.yaml"))
    stats.add_argument("--iaa", type=Path, default=Path("annotations/iaa"))
    agree = sub.add_parser("agreement", help="entity F1 per label between two annotation files")
    agree.add_argument("first", type=Path)
    agree.add_argument("second", type=Path)
    args = parser.parse_args(argv)

    if args.command == "make":
        selection = yaml.safe_load(args.selection.read_text(encoding="utf-8"))
        args.out_dir.mkdir(parents=True, exist_ok=True)
        batch: list[Task] = []
        size = 0
        number = 0
        tasks = [t for doc in load_documents(selection) for t in document_worklist(doc, not args.bare)]
        for task in tasks:
            if batch and size + len(task.text) > args.chars:
                number += 1
                (args.out_dir / f"batch_{number:02d}.txt").write_text(worksheet(batch), encoding="utf-8")
                batch, size = [], 0
            batch.append(task)
            size += len(task.text)
        if batch:
            number += 1
            (args.out_dir / f"batch_{number:02d}.txt").write_text(worksheet(batch), encoding="utf-8")
        print(f"{len(tasks)} tasks in {number} worksheet(s) under {args.out_dir}")
        return 0
    if args.command == "compile":
        tasks, problems = compile_worksheets(args.worksheets, args.annotator)
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        if problems:
            return 1
        by_doc: dict[str, list[dict[str, Any]]] = {}
        for task in tasks:
            by_doc.setdefault(task["data"]["doc"], []).append(task)
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for doc, doc_tasks in sorted(by_doc.items()):
            doc_tasks.sort(key=lambda t: t["data"]["offset"])
            for number, task in enumerate(doc_tasks, 1):
                task["id"] = task["annotations"][0]["id"] = number
            out = args.out_dir / f"{doc_slug(doc, doc_tasks[0]['data']['year'])}.json"
            out.write_text(json.dumps(doc_tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            spans = sum(len(t["annotations"][0]["result"]) for t in doc_tasks)
            print(f"{out}: {len(doc_tasks)} tasks, {spans} spans")
        return 0
    if args.command == "stats":
        print(corpus_stats(args.gold, args.splits, args.iaa))
        return 0
    scores = entity_agreement(read_annotations(args.first), read_annotations(args.second))
    print(json.dumps(scores, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
