"""The results roll-up as CSV and XLSX: the same Rollup the page shows, written out.

Nothing here reads the database: what a file carries is what results.rollup let the
reader see. Every file opens and ends with the classification banner (and an XLSX
sheet carries it in its printed header and footer too). A cell never starts a
formula: text that a spreadsheet would run (=, +, -, @) is quoted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from fastapi.responses import Response, StreamingResponse
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from app.dashboards.results import NO_RESPONSE, ResultRow, Rollup, choice
from app.taskings.models import Position

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADINGS = (
    "Region",
    "Post",
    "Country",
    "Status",
    "Due",
    "Days late",
    "Delivered on",
    "Delivered by",
    "Recipient",
    "Title",
    "Office",
    "Level",
    "Method",
    "Points",
    "Position",
    "Key sentence",
    "Commitments",
    "Objectives",
)
TOTAL_HEADINGS = (
    "Region",
    "Targets",
    "Delivered",
    "Outstanding",
    *(p.value.replace("_", " ") for p in Position),
    "no response",
)


def _safe(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _words(value: object) -> str:
    return "" if value is None else str(value).replace("_", " ")


def _cells(r: ResultRow) -> list[str]:
    return [
        _safe(v)
        for v in (
            r.region.value,
            r.post,
            r.country,
            _words(r.status.value),
            r.due_date.isoformat() if r.due_date else "",
            r.days_late or "",
            r.delivered_on.isoformat() if r.delivered_on else "",
            r.delivered_by,
            r.recipient_name,
            r.recipient_title,
            r.recipient_office,
            _words(r.level.value if r.level else None),
            _words(r.method.value if r.method else None),
            ", ".join(str(p) for p in r.points),
            _words(r.position.value if r.position else None),
            (r.key_sentence or "") + (" [portions withheld]" if r.summary_withheld else ""),
            "; ".join(
                text + (f" (due {due.isoformat()})" if due else "")
                for text, due, _status in r.commitments
            ),
            "; ".join(f"{at} {_words(stance.value)}" for at, stance in r.stances.items()),
        )
    ]


def _totals(rollup: Rollup) -> list[list[object]]:
    out: list[list[object]] = []
    for t in [*rollup.regions, rollup.totals]:
        out.append(
            [
                t.region.value if t.region else "All regions",
                t.targets,
                t.delivered,
                t.outstanding,
                *(t.positions[p.value] for p in Position),
                t.positions[NO_RESPONSE],
            ]
        )
    return out


def filename(rollup: Rollup, ext: str) -> str:
    return f"demarche-{rollup.demarche.id}-results.{ext}"


def csv_lines(rollup: Rollup) -> Iterator[str]:
    """The roll-up's rows, delivered then outstanding, one CSV line at a time; the
    banner is the first line and the last."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def line(cells: list[str]) -> str:
        writer.writerow(cells)
        out = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return out

    banner = rollup.banner.value
    yield line([banner])
    yield line([_safe(f"Results of demarche {rollup.demarche.id}: {rollup.demarche.subject}")])
    yield line(list(HEADINGS))
    for r in [*rollup.rows, *rollup.outstanding]:
        yield line(_cells(r))
    yield line([banner])


def _banner_sheet(ws: Worksheet, banner: str, title: str) -> None:
    for hf in (ws.oddHeader, ws.evenHeader, ws.firstHeader):
        hf.center.text = banner
    for hf in (ws.oddFooter, ws.evenFooter, ws.firstFooter):
        hf.center.text = banner
    ws.append([banner])
    ws.append([_safe(title)])
    ws["A1"].font = Font(bold=True)
    ws["A2"].font = Font(bold=True)


def xlsx_bytes(rollup: Rollup) -> bytes:
    """One sheet of rows, one of totals by region; each with the banner as its first
    and last row and in its printed header and footer."""
    banner = rollup.banner.value
    title = f"Results of demarche {rollup.demarche.id}: {rollup.demarche.subject}"
    wb = Workbook()
    rows = wb.active
    assert rows is not None
    rows.title = "Results"
    _banner_sheet(rows, banner, title)
    rows.append(list(HEADINGS))
    for r in [*rollup.rows, *rollup.outstanding]:
        rows.append(_cells(r))
    rows.append([banner])
    rows.print_title_rows = "3:3"  # the headings again on every printed page
    rows.freeze_panes = "C4"
    for cell in rows[3]:
        cell.font = Font(bold=True)
    for col, width in zip(
        "ABCDEFGHIJKLMNOPQ",
        (7, 12, 18, 12, 11, 6, 11, 16, 18, 18, 18, 14, 12, 8, 14, 60, 40),
        strict=True,
    ):
        rows.column_dimensions[col].width = width
    for line in rows.iter_rows(min_row=4, min_col=16, max_col=17):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    totals = wb.create_sheet("Totals by region")
    _banner_sheet(totals, banner, title)
    totals.append(list(TOTAL_HEADINGS))
    for cell in totals[3]:
        cell.font = Font(bold=True)
    for line in _totals(rollup):
        totals.append(line)
    totals.append([banner])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


FORMATS = ("csv", "xlsx")


def download(rollup: Rollup, format: str) -> Response:
    """The roll-up as a file to save: CSV streamed line by line, or XLSX."""
    choice("format", format, FORMATS)
    disposition = {"Content-Disposition": f'attachment; filename="{filename(rollup, format)}"'}
    if format == "csv":
        return StreamingResponse(csv_lines(rollup), media_type=CSV_TYPE, headers=disposition)
    return Response(xlsx_bytes(rollup), media_type=XLSX_TYPE, headers=disposition)
