"""Writers and readers for extracted records and tagged sentences.

Every writer goes through `atomic_write`: the output appears complete or not at all, and a good
earlier file is never replaced by a failed run.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from govtargets.records import RECORD_FIELDS, Record

FORMATS: tuple[str, ...] = ("jsonl", "csv", "xlsx")


class OutputError(Exception):
    """An output file could not be written or read."""


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The explicit format, else the one the file name implies (default jsonl)."""
    if fmt:
        if fmt not in FORMATS:
            raise OutputError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "jsonl"


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[Any]:
    """Open a temporary file beside `path`; move it into place only if the block succeeds."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise OutputError(f"{path}: directory {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        encoding = None if "b" in mode else "utf-8"
        newline = None if "b" in mode else ""
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as handle:
            yield handle
        # mkstemp creates 0600; give the output the permissions an ordinary new file would get.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _cell(value: Any) -> Any:
    """Flatten a record field for a spreadsheet cell (nested values as compact JSON)."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    count = 0
    with atomic_write(path) as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_table(rows: Iterable[dict[str, Any]], path: str | Path, fmt: str, columns: list[str]) -> int:
    """CSV (UTF-8 with BOM so Excel opens Chinese text correctly) or XLSX."""
    count = 0
    if fmt == "csv":
        with atomic_write(path) as out:
            out.write("\ufeff")
            writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(row.get(k)) for k in columns})
                count += 1
        return count
    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("records")
        sheet.append(columns)
        for row in rows:
            sheet.append([_cell(row.get(k)) for k in columns])
            count += 1
        buffer = io.BytesIO()
        workbook.save(buffer)
        with atomic_write(path, "wb") as out:
            out.write(buffer.getvalue())
        return count
    raise OutputError(f"unknown table format {fmt!r}")


def write_rows(rows: Iterable[dict[str, Any]], path: str | Path, fmt: str, columns: list[str]) -> int:
    if fmt == "jsonl":
        return write_jsonl(rows, path)
    return write_table(rows, path, fmt, columns)


def write_records(records: Iterable[Record], path: str | Path, fmt: str | None = None) -> int:
    """Write extract records; returns how many were written."""
    return write_rows((r.to_dict() for r in records), path, format_for(path, fmt), list(RECORD_FIELDS))


def _parse_csv_value(name: str, raw: str) -> Any:
    if raw == "":
        return None
    field_type = Record.__dataclass_fields__[name].type
    if name == "spans":
        return json.loads(raw)
    if "float" in str(field_type):
        return float(raw)
    if "int" in str(field_type):
        return int(float(raw))
    return raw


def _record_from_dict(row: dict[str, Any], where: Callable[[], str]) -> Record:
    unknown = set(row) - set(RECORD_FIELDS)
    if unknown or "kind" not in row:
        raise OutputError(f"{where()}: not an extract record (fields: {', '.join(sorted(row))[:120]})")
    return Record(**row)


def read_records(path: str | Path) -> list[Record]:
    """Read records written by `write_records` (JSONL or CSV)."""
    path = Path(path)
    fmt = format_for(path)
    records: list[Record] = []
    try:
        if fmt == "jsonl":
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if line.strip():
                        records.append(_record_from_dict(json.loads(line), lambda n=number: f"{path}:{n}"))
        elif fmt == "csv":
            with path.open(encoding="utf-8-sig", newline="") as handle:
                for number, row in enumerate(csv.DictReader(handle), 2):
                    parsed = {k: _parse_csv_value(k, v) for k, v in row.items() if k in RECORD_FIELDS}
                    records.append(_record_from_dict(parsed, lambda n=number: f"{path}:{n}"))
        else:
            raise OutputError(f"{path}: reading records from {fmt} is not supported (use jsonl or csv)")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as err:
        raise OutputError(f"{path}: cannot read records ({err})") from err
    return records
