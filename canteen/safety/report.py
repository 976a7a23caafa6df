"""The inspector's report for a date range: one table per log kind with its fields as
columns, late flags, amendment history, corrective actions (open ones with owner and due
date), inspection rounds, and what is missing grouped by day and log kind — in the reader's
language, in local time, people and suppliers by name. The printed page and the XLSX file
are two renderings of `build()`."""
import datetime as dt
import io
import json
from dataclasses import dataclass, field

from flask_babel import gettext as _

from ..cells import looks_like_formula
from ..checklists.rounds import ROUNDS
from ..clock import clock
from ..office.accounts import User
from ..vocabulary import ACTION_STATUS, D_NAMES, DISPOSITION_NAMES, SEVERITY_NAMES
from . import service
from .models import (
    CorrectiveAction,
    InspectionGrade,
    InspectionRound,
    SafetyAmendment,
    SafetyRecord,
)
from .schema import KINDS


@dataclass
class KindTable:
    name: str
    label: str
    columns: list  # field labels, after the fixed columns
    rows: list = field(default_factory=list)  # dicts: id, day, occurred, recorded, late, author, ...


@dataclass
class Report:
    start: dt.date
    end: dt.date
    lang: str
    tables: list
    amendments: list
    actions: list
    rounds: list
    gaps: dict  # {day: {log label: [what is missing]}}
    generated: str

    @property
    def complete(self):
        return not self.gaps


def local(utc):
    return clock().to_local(utc).strftime("%Y-%m-%d %H:%M") if utc else ""


def people():
    """actor string → the person's name ("user:wang" → 王建国; tokens by their label)."""
    names = {f"user:{u.username}": (u.display_name or u.username) for u in User.select()}
    return lambda actor: names.get(actor, str(actor or "").split(":", 1)[-1])


def plain(value):
    """A shown value as text (photos become a word: the report carries no markup)."""
    if hasattr(value, "__html__"):
        return _("photo")
    return str(value)


def drop_empty_columns(table):
    """Fields no entry of the period filled (a photo never taken) would only narrow the others."""
    keep = [i for i, _label in enumerate(table.columns) if any(r["values"][i] for r in table.rows)]
    table.columns = [table.columns[i] for i in keep]
    for r in table.rows:
        r["values"] = [r["values"][i] for i in keep]
    return table


def build(start, end, lang, display, missing_on):
    """Everything the report shows. `display(kind, values)` and `missing_on(day)` come from
    the views (names instead of ids, the day's gaps)."""
    who = people()
    records = list(SafetyRecord.select().where(SafetyRecord.day.between(start, end))
                   .order_by(SafetyRecord.day, SafetyRecord.occurred_at))
    tables = []
    for name, kind in KINDS.items():
        table = KindTable(name, kind.label(lang), [f.label(lang) for f in kind.fields])
        for r in (r for r in records if r.kind == name):
            verdict = service.latest_verdict(r)
            shown = dict(display(kind, r.values()))
            findings = verdict.finding_list() if verdict else []
            late = r.late_by
            table.rows.append({
                "id": r.id, "day": r.day.isoformat() if hasattr(r.day, "isoformat") else str(r.day),
                "occurred": local(r.occurred_at), "recorded": local(r.recorded_at),
                "late": int(late.total_seconds() // 60) if late else None,
                "author": who(r.author), "version": r.version,
                "verdict": (_("fail") if verdict.verdict == "fail" else _("pass")) if verdict else "",
                "checklist": verdict.checklist_version if verdict else "",
                "findings": "; ".join(f"{f['item']} {f['message_en'] if lang == 'en' else f['message_zh']}"
                                      f" ({_('seen')} {f['value']}, {_('limit')} {f['limit']})" for f in findings),
                "values": [plain(shown[label]) if label in shown else "" for label in table.columns],
            })
        if table.rows:
            tables.append(drop_empty_columns(table))
    labels = {name: {f.name: f.label(lang) for f in kind.fields} for name, kind in KINDS.items()}
    amendments = []
    ids = [r.id for r in records]
    kinds_by_id = {r.id: r.kind for r in records}
    if ids:
        for a in SafetyAmendment.select().where(SafetyAmendment.record.in_(ids)).order_by(
                SafetyAmendment.record, SafetyAmendment.version):
            kind = kinds_by_id[a.record_id]
            amendments.append({"record": a.record_id, "log": KINDS[kind].label(lang), "version": a.version,
                               "at": local(a.at), "author": who(a.author), "reason": a.reason,
                               "changed": ", ".join(labels[kind].get(n, n) for n in json.loads(a.changed))})
    round_ids = [r.id for r in InspectionRound.select(InspectionRound.id)
                 .where(InspectionRound.day.between(start, end))]
    actions = []
    for a in (CorrectiveAction.select().where(CorrectiveAction.record.in_(ids or [0])
                                              | CorrectiveAction.round_id.in_(round_ids or [0])
                                              | (CorrectiveAction.status != "verified"))
              .order_by(CorrectiveAction.status == "verified", CorrectiveAction.due_at)):
        source = (f"{KINDS[a.record.kind].label(lang)} #{a.record_id}" if a.record_id
                  else f"{_('4D inspection round')} #{a.round_id}")
        actions.append({
            "id": a.id, "source": source, "severity": str(SEVERITY_NAMES.get(a.severity, a.severity)),
            "d": str(D_NAMES.get(a.d, a.d)),
            "findings": "; ".join(f"{f['item']} {f['message_en'] if lang == 'en' else f['message_zh']}"
                                  for f in a.findings()),
            "owner": who(f"user:{a.owner}") if ":" not in a.owner else who(a.owner),
            "status": str(ACTION_STATUS.get(a.status, a.status)), "open": a.status != "verified",
            "opened": local(a.opened_at), "due": local(a.due_at), "overdue": a.overdue,
            "cause": a.cause or "", "action_taken": a.action_taken or "",
            "disposition": str(DISPOSITION_NAMES.get(a.disposition, a.disposition or "")),
            "recheck": "" if a.recheck_value is None else f"{a.recheck_value:g} ℃ ({a.recheck_verdict})",
            "verified": f"{who(a.verified_by)} {local(a.verified_at)} {a.verification or ''}".strip()
            if a.verified_by else "",
        })
    rounds = []
    for r in (InspectionRound.select().where(InspectionRound.id.in_(round_ids or [0]))
              .order_by(InspectionRound.day, InspectionRound.id)):
        area = ROUNDS.areas.get(r.area)
        remarks = "; ".join(f"{g.item} {g.remark}" for g in r.grades.order_by(InspectionGrade.id) if g.remark)
        rounds.append({"id": r.id, "day": str(r.day), "area": area.label(lang) if area else r.area,
                       "inspector": who(r.inspector), "rate": r.rate, "remarks": remarks})
    gaps = {}
    day = start
    while day <= min(end, clock().today()):
        for kind, text in missing_on(day):
            gaps.setdefault(day, {}).setdefault(KINDS[kind].label(lang), []).append(str(text))
        day += dt.timedelta(days=1)
    return Report(start, end, lang, tables, amendments, actions, rounds, gaps,
                  clock().now().strftime("%Y-%m-%d %H:%M"))


# --- XLSX -------------------------------------------------------------------------------------

FIXED = ("#", "day", "occurred", "recorded", "late", "author", "version", "verdict", "checklist", "findings")


def fixed_headers():
    return [_("No."), _("Date"), _("Happened at"), _("Entered at"), _("Late (min)"), _("By"), _("Version"),
            _("4D check"), _("Checklist"), _("Findings")]


def as_text(sheet):
    """Cells that start like a formula stay text: an inspector's spreadsheet must not run what
    someone typed into a log."""
    for row in sheet.iter_rows():
        for cell in row:
            if looks_like_formula(cell.value):
                cell.data_type = "s"


def _sheet(book, title, headers, rows, widths):
    from openpyxl.styles import Alignment, Font

    sheet = book.create_sheet(_sheet_title(book, title))
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, width in enumerate(widths, 1):
        sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = width
    _a4(sheet, landscape=sum(widths) > 95)
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    as_text(sheet)
    return sheet


def _sheet_title(book, title):
    clean = "".join(c for c in title if c not in "[]:*?/\\")[:31]
    name, n = clean, 2
    while name in book.sheetnames:
        name = f"{clean[:28]} {n}"
        n += 1
    return name


def _a4(sheet, landscape):
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def field_width(label):
    return max(9, min(24, 2 * len(label) if any(ord(c) > 0x2e80 for c in label) else len(label) + 2))


def xlsx(report, canteen_name):
    """The report as an XLSX workbook (bytes): a summary with the signature block first."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    summary.title = _sheet_title(book, _("Summary"))
    title = _("Food-safety report %(start)s – %(end)s", start=report.start.isoformat(), end=report.end.isoformat())
    summary.append([canteen_name])
    summary.append([title])
    summary["A1"].font = Font(bold=True, size=14)
    summary["A2"].font = Font(bold=True, size=12)
    summary.append([_("Generated"), report.generated])
    summary.append([_("Status"), _("INCOMPLETE: expected records are missing") if not report.complete
                    else _("Complete: every expected record is present.")])
    summary.append([])
    summary.append([_("Log"), _("Entries"), _("Failed")])
    for table in report.tables:
        summary.append([table.label, len(table.rows), sum(1 for r in table.rows if r["verdict"] == _("fail"))])
    summary.append([_("Open corrective actions"), sum(1 for a in report.actions if a["open"])])
    summary.append([])
    for label in (_("Prepared by"), _("Checked by"), _("Date")):
        summary.append([label, "", ""])
        summary.cell(row=summary.max_row, column=2).border = _underline()
    summary.column_dimensions["A"].width = 34
    summary.column_dimensions["B"].width = 30
    summary.column_dimensions["C"].width = 12
    _a4(summary, landscape=False)
    widths = [6, 11, 16, 16, 8, 12, 7, 8, 10, 40]
    for table in report.tables:
        _sheet(book, table.label, fixed_headers() + table.columns,
               [[r["id"], r["day"], r["occurred"], r["recorded"], r["late"], r["author"], r["version"], r["verdict"],
                 r["checklist"], r["findings"], *r["values"]] for r in table.rows],
               widths + [field_width(c) for c in table.columns])
    _sheet(book, _("Amendments"), [_("Entry"), _("Log"), _("Version"), _("Corrected at"), _("By"), _("Reason"),
                                   _("Fields changed")],
           [[a["record"], a["log"], a["version"], a["at"], a["author"], a["reason"], a["changed"]]
            for a in report.amendments], [8, 18, 8, 16, 12, 36, 30])
    _sheet(book, _("Corrective actions"),
           [_("No."), _("Source"), _("Severity"), "D", _("Findings"), _("Owner"), _("Status"), _("Opened"), _("Due"),
            _("Cause"), _("Action taken"), _("Product"), _("Re-check"), _("Verified")],
           [[a["id"], a["source"], a["severity"], a["d"], a["findings"], a["owner"], a["status"], a["opened"],
             a["due"], a["cause"], a["action_taken"], a["disposition"], a["recheck"], a["verified"]]
            for a in report.actions], [6, 18, 9, 12, 36, 12, 12, 16, 16, 20, 20, 10, 12, 24])
    _sheet(book, _("4D inspection rounds"), [_("No."), _("Date"), _("Area"), _("Inspector"), _("Score"),
                                            _("Remarks")],
           [[r["id"], r["day"], r["area"], r["inspector"], r["rate"], r["remarks"]] for r in report.rounds],
           [6, 11, 16, 12, 8, 50])
    _sheet(book, _("Incomplete"), [_("Date"), _("Log"), _("Missing")],
           [[str(day), log, item] for day, logs in report.gaps.items() for log, items in logs.items()
            for item in items], [11, 24, 60])
    as_text(summary)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _underline():
    from openpyxl.styles import Border, Side

    return Border(bottom=Side(style="thin"))
