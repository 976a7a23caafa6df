"""Any table a report shows, as CSV (UTF-8 with BOM, for Excel) or XLSX (openpyxl)."""
import csv
import io

from flask import Response

from ..cells import formula_safe
from ..safety.report import as_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def flat(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " / ".join(str(v) for v in value)
    return value


def _safe(value):
    # a cell starting like a formula stays text: a spreadsheet must not run a miner's comment
    return formula_safe(value)


def table_response(name, tables, fmt):
    """`tables`: [(sheet name, header, rows)]. CSV carries the first table; XLSX one sheet each."""
    if fmt == "csv":
        _sheet, header, rows = tables[0]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_safe(flat(v)) for v in row])
        return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(workbook_bytes(tables), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


def workbook_bytes(tables):
    """An XLSX file of `tables`, one sheet each."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for sheet_name, header, rows in tables:
        sheet = book.create_sheet(sheet_name[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append([flat(v) for v in row])
        as_text(sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
