"""Reading exports from other systems: CSV/TSV (any delimiter, UTF-8 or Latin-1, BOM), JSON
Lines, XLSX and Parquet, as rows of ``{header: value}`` with the row number a person would see.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clientela.domain.errors import BadRequest, FieldError

__all__ = ["FORMATS", "Table", "open_table"]

FORMATS = ("csv", "tsv", "jsonl", "xlsx", "parquet")
_SAMPLE = 64 * 1024


@dataclass
class Table:
    format: str
    headers: list[str]
    encoding: str | None
    delimiter: str | None
    rows: Iterator[tuple[int, dict[str, Any]]]


def _unreadable(path: Path, why: str) -> BadRequest:
    return BadRequest(
        f"{path.name} could not be read: {why}.",
        errors=[FieldError("file", why, "unreadable_file")],
    )


def open_table(path: Path, *, format: str | None = None) -> Table:
    if not path.is_file():
        raise _unreadable(path, "no such file")
    kind = (format or path.suffix.lstrip(".")).lower()
    kind = {"txt": "csv", "json": "jsonl", "ndjson": "jsonl", "xls": "xlsx"}.get(kind, kind)
    if kind in ("csv", "tsv"):
        return _delimited(path, tab=kind == "tsv")
    if kind == "jsonl":
        return _json_lines(path)
    if kind == "xlsx":
        return _xlsx(path)
    if kind == "parquet":
        return _parquet(path)
    raise _unreadable(path, f"unknown format (use one of {', '.join(FORMATS)})")


def _encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the sample's end
            return "cp1252"  # Latin-1 as Windows writes it (Excel exports in Brazil)
    return "utf-8"


def _delimited(path: Path, *, tab: bool) -> Table:
    with path.open("rb") as binary:
        sample = binary.read(_SAMPLE)
    if b"\x00" in sample:
        raise _unreadable(path, "it is a binary file, not text")
    encoding = _encoding(sample)
    text = sample.decode(encoding, errors="replace")
    if tab:
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(text.split("\n", 20)[0] + "\n", ",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    handle = path.open("r", encoding=encoding, newline="")
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        handle.close()
        raise _unreadable(path, "it is empty") from None
    if not any(headers):
        handle.close()
        raise _unreadable(path, "the first line has no column names")

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        with handle:
            for values in reader:
                if not any(value.strip() for value in values):
                    continue  # blank line
                line = reader.line_num
                yield (
                    line,
                    {h: (values[i] if i < len(values) else "") for i, h in enumerate(headers)},
                )

    return Table("tsv" if tab else "csv", headers, encoding, delimiter, rows())


def _json_lines(path: Path) -> Table:
    handle = path.open("r", encoding="utf-8-sig")
    first: dict[str, Any] | None = None
    headers: list[str] = []

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError:
                    yield number, {"__invalid__": "the line is not valid JSON"}
                    continue
                yield (
                    number,
                    value
                    if isinstance(value, dict)
                    else {"__invalid__": "the line is not a JSON object"},
                )

    iterator = rows()
    buffered: list[tuple[int, dict[str, Any]]] = []
    for item in iterator:
        buffered.append(item)
        if "__invalid__" not in item[1]:
            first = item[1]
            break
    headers = list(first or {})

    def chained() -> Iterator[tuple[int, dict[str, Any]]]:
        yield from buffered
        yield from iterator

    return Table("jsonl", headers, "utf-8", None, chained())


def _xlsx(path: Path) -> Table:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise _unreadable(path, f"not a readable XLSX workbook ({type(exc).__name__})") from None
    sheet = workbook.worksheets[0]
    lines = sheet.iter_rows(values_only=True)
    try:
        headers = [str(h).strip() if h is not None else "" for h in next(lines)]
    except StopIteration:
        raise _unreadable(path, "the first sheet is empty") from None

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, values in enumerate(lines, start=2):
            if all(v is None or str(v).strip() == "" for v in values):
                continue
            yield number, {h: values[i] if i < len(values) else None for i, h in enumerate(headers)}
        workbook.close()

    return Table("xlsx", headers, None, None, rows())


def _parquet(path: Path) -> Table:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError kinds
        raise _unreadable(path, f"not a readable Parquet file ({type(exc).__name__})") from None
    headers = list(parquet.schema_arrow.names)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        number = 1
        for batch in parquet.iter_batches(batch_size=10_000):
            for record in batch.to_pylist():
                number += 1
                yield number, record

    return Table("parquet", headers, None, None, rows())


def write_rejects(
    path: Path, headers: list[str], rejects: list[tuple[int, dict[str, Any], str]]
) -> None:
    """The reject file: each refused row as it was, with its row number and the reason."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row_number", "reason", *headers])
    for number, row, reason in rejects:
        writer.writerow([number, reason, *[_cell(row.get(h)) for h in headers]])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value
