"""The records that cross module boundaries: tagged spans and linked target/project records.

Offsets are always character offsets (Python string indices), end exclusive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

LABELS: tuple[str, ...] = ("INDICATOR", "VALUE", "UNIT", "PROJECT")

COMPARATORS: tuple[str, ...] = ("~", ">=", ">", "<=", "<", "=")
MEASURES: tuple[str, ...] = ("growth", "decline", "level")
STATUSES: tuple[str, ...] = ("target", "actual")
SECTION_KINDS: tuple[str, ...] = ("review", "plan")


@dataclass(frozen=True)
class Span:
    """A labelled character span. `text` must equal the slice of the string the offsets refer to."""

    label: str
    start: int
    end: int
    text: str
    score: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "start": self.start, "end": self.end, "text": self.text,
                "score": round(self.score, 4)}

    def shifted(self, delta: int) -> Span:
        return Span(self.label, self.start + delta, self.end + delta, self.text, self.score)


class Backend(Protocol):
    """A tagger. Rule and model backends are interchangeable behind this signature.

    `sentences` are normalised sentence strings (see documents.Document.norm); the returned spans
    have offsets relative to their own sentence and `text == sentence[start:end]`.
    """

    name: str

    def tag(self, sentences: list[str]) -> list[list[Span]]: ...


# Field order here is the output schema of `govtargets extract` (JSONL keys, CSV/XLSX columns).
@dataclass
class Record:
    """One structured target (kind="target", one per VALUE) or project (kind="project")."""

    doc: str = ""
    kind: str = "target"
    sentence: str = ""
    sentence_start: int = 0
    indicator: str | None = None
    value: float | None = None
    value_max: float | None = None
    unit: str | None = None
    comparator: str | None = None
    measure: str | None = None
    status: str | None = None
    base_value: float | None = None
    base_unit: str | None = None
    project: str | None = None
    action: str | None = None
    # field name -> [start, end]; relative to the sentence inside `linking`, source-text offsets
    # once the pipeline has grounded the record in its document.
    spans: dict[str, list[int]] = field(default_factory=dict)
    confidence: float | None = None
    region: str | None = None
    level: str | None = None
    year: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RECORD_FIELDS: tuple[str, ...] = tuple(Record.__dataclass_fields__)
