"""The canteen's 4D standing: inspection rounds, the compliance dashboard, the inspector's
export. Managers do rounds; managers and union representatives read the rest."""
import datetime as dt
import io
import json
from collections import Counter

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from .. import audit
from ..access import actor, allow
from ..cells import looks_like_formula
from ..checklists.rounds import ROUNDS, score
from ..clock import clock
from ..i18n import current_language
from ..models import database, utcnow
from ..office.catalog import PHOTO_ERRORS
from ..office.forms import ConfirmForm, printable
from ..photos import PhotoError, save_photo
from . import service
from .models import (
    CorrectiveAction,
    InspectionGrade,
    InspectionRound,
    SafetyRecord,
    SafetyVerdict,
)
from .schema import KINDS
from .views import display, missing_on

bp = Blueprint("standing", __name__, url_prefix="/safety")
READ = ("manager", "union", "admin")
DS = ("organisation", "responsibility", "training", "execution")


@bp.get("/rounds")
@allow(*READ)
def rounds():
    """Inspection rounds: the latest per area and the score rate per area and per D."""
    since = clock().today() - dt.timedelta(days=90)
    rows = list(InspectionRound.select().where(InspectionRound.day >= since)
                .order_by(InspectionRound.day.desc(), InspectionRound.id.desc()))
    return render_template("safety/rounds.html", rows=rows, areas=ROUNDS.areas, lang=current_language(),
                           by_d=rates_by_d(since))


def rates_by_d(since):
    """{d: rate %} over all graded items since `since`."""
    points = {}
    query = (InspectionGrade.select(InspectionGrade.d, InspectionGrade.points)
             .join(InspectionRound).where(InspectionRound.day >= since).tuples())
    for d, p in query:
        points.setdefault(d, []).append(p)
    return {d: round(100 * sum(p) / (ROUNDS.best * len(p)), 1) for d, p in points.items()}


@bp.route("/rounds/new/<area_name>", methods=["GET", "POST"])
@allow("manager")
def new_round(area_name):
    """Walk through one area: grade every item 优/良/中/差, remark and photo for weak ones."""
    area = ROUNDS.areas.get(area_name) or abort(404)
    form = ConfirmForm()
    errors = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        grades, remarks, photos = {}, {}, {}
        codes = [g.code for g in ROUNDS.grades]
        for item in area.items:
            code = request.form.get(f"grade_{item.id}")
            if code not in codes:
                errors[item.id] = _("Grade this item.")
                continue
            grades[item.id] = code
            remarks[item.id] = " ".join(printable(request.form.get(f"remark_{item.id}") or "").split())[:300] or None
            upload = request.files.get(f"photo_{item.id}")
            if upload and upload.filename:
                try:
                    photos[item.id] = save_photo(upload.read(), current_app.config["PHOTO_DIR"],
                                                 current_app.config["PHOTO_MAX_BYTES"])
                except PhotoError as e:
                    errors[item.id] = str(PHOTO_ERRORS[str(e)])
            if code in ("fair", "poor") and not remarks[item.id] and item.id not in errors:
                errors[item.id] = _("Say what is wrong.")
        cadence = request.form.get("cadence", "daily")
        if cadence not in ("daily", "weekly"):
            errors["cadence"] = _("Choose daily or weekly.")
        if not errors:
            points, maximum, rate = score(ROUNDS, grades)
            with database.atomic():
                row = InspectionRound.create(day=clock().today(), cadence=cadence, area=area.name,
                                             inspector=actor(), version=ROUNDS.version, points=points,
                                             maximum=maximum, rate=rate, created_at=utcnow())
                for item in area.items:
                    InspectionGrade.create(round=row, item=item.id, d=item.d, grade=grades[item.id],
                                           points=ROUNDS.grade(grades[item.id]).points,
                                           remark=remarks[item.id], photo=photos.get(item.id))
                audit.record(actor(), "round.create", "inspection_round", row.id, area=area.name,
                             grades=grades, rate=rate)
            flash(_("Round saved: %(rate)s %%.", rate=rate))
            return redirect(url_for("standing.rounds"))
    return render_template("safety/round_form.html", area=area, grades=ROUNDS.grades, form=form,
                           errors=errors, values=request.form, lang=current_language()), 422 if errors else 200


def today_status(day):
    """{kind: "done" | "missing" | "failed"} for the canteen's day."""
    status = {kind: "missing" for kind in KINDS}
    latest = {}
    for verdict in (SafetyVerdict.select(SafetyVerdict, SafetyRecord.id, SafetyRecord.kind).join(SafetyRecord)
                    .where(SafetyRecord.day == day).order_by(SafetyVerdict.id)):
        latest[verdict.record.id] = (verdict.record.kind, verdict.verdict)
    for kind, verdict in latest.values():
        if verdict == "fail":
            status[kind] = "failed"
        elif status[kind] == "missing":
            status[kind] = "done"
    return status


@bp.get("/dashboard")
@allow(*READ)
def dashboard():
    """The canteen's 4D standing on one page."""
    today = clock().today()
    since = today - dt.timedelta(days=30)
    open_actions = list(CorrectiveAction.select().where(CorrectiveAction.status != "verified"))
    now = utcnow()
    ages = Counter()
    for a in open_actions:
        days = (now - a.opened_at).days
        ages[(a.severity, "0-1" if days < 1 else "1-3" if days < 3 else "3-7" if days < 7 else "7+")] += 1
    recurring = Counter()
    for verdict in SafetyVerdict.select().join(SafetyRecord).where(SafetyRecord.day >= since):
        for f in verdict.finding_list():
            recurring[(f["item"], f["message_en"] if current_language() == "en" else f["message_zh"])] += 1
    weeks = {}
    for row in InspectionRound.select().where(InspectionRound.day >= today - dt.timedelta(weeks=8)):
        week = row.day - dt.timedelta(days=row.day.weekday())
        weeks.setdefault(week, {}).setdefault(row.area, []).append(row.rate)
    trend = [(week, {area: round(sum(r) / len(r), 1) for area, r in areas.items()}) for week, areas in sorted(weeks.items())]
    d_weeks = {}
    query = (InspectionGrade.select(InspectionRound.day, InspectionGrade.d, InspectionGrade.points)
             .join(InspectionRound).where(InspectionRound.day >= today - dt.timedelta(weeks=8)).tuples())
    for day, d, points in query:
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        week = day - dt.timedelta(days=day.weekday())
        d_weeks.setdefault(week, {}).setdefault(d, []).append(points)
    d_trend = [(week, {d: round(100 * sum(p) / (ROUNDS.best * len(p)), 1) for d, p in ds.items()})
               for week, ds in sorted(d_weeks.items())]
    return render_template("safety/dashboard.html", status=today_status(today), kinds=KINDS, ages=ages,
                           open_actions=open_actions, overdue=sum(a.overdue for a in open_actions),
                           recurring=recurring.most_common(10), by_d=rates_by_d(since), trend=trend, d_trend=d_trend,
                           areas=ROUNDS.areas, lang=current_language(), today=today, ds=DS)


# --- the inspector's export -----------------------------------------------------------------

def export_rows(start, end):
    """Every log entry, finding and corrective action in the range, and the days with gaps."""
    records = list(SafetyRecord.select().where(SafetyRecord.day.between(start, end))
                   .order_by(SafetyRecord.day, SafetyRecord.occurred_at))
    verdicts = {r.id: service.latest_verdict(r) for r in records}
    actions = list(CorrectiveAction.select().join(SafetyRecord)
                   .where(SafetyRecord.day.between(start, end)).order_by(CorrectiveAction.id))
    gaps = {}
    day = start
    while day <= min(end, clock().today()):
        missing = missing_on(day)
        if missing:
            gaps[day] = missing
        day += dt.timedelta(days=1)
    rounds = list(InspectionRound.select().where(InspectionRound.day.between(start, end))
                  .order_by(InspectionRound.day, InspectionRound.id))
    return records, verdicts, actions, gaps, rounds


def parse_range():
    today = clock().today()
    try:
        end = dt.date.fromisoformat(request.args.get("to") or today.isoformat())
        start = dt.date.fromisoformat(request.args.get("from") or (end - dt.timedelta(days=6)).isoformat())
    except (ValueError, OverflowError):
        abort(400)
    if start > end or (end - start).days > 366 or not (2000 <= start.year and end.year <= 2100):
        abort(400)
    return start, end


@bp.get("/export")
@allow(*READ)
def export():
    """Inspector's report for a date range: printable HTML, or ?format=xlsx."""
    start, end = parse_range()
    records, verdicts, actions, gaps, rounds_ = export_rows(start, end)
    lang = current_language()
    if request.args.get("format") == "xlsx":
        return xlsx_response(start, end, records, verdicts, actions, gaps, rounds_, lang)
    shown = {r.id: display(KINDS[r.kind], r.values()) for r in records}
    return render_template("safety/export.html", start=start, end=end, records=records, verdicts=verdicts,
                           actions=actions, gaps=gaps, kinds=KINDS, lang=lang, shown=shown, rounds=rounds_,
                           areas=ROUNDS.areas)


def as_text(sheet):
    """Cells that start like a formula stay text: an inspector's spreadsheet must not run what
    someone typed into a log."""
    for row in sheet.iter_rows():
        for cell in row:
            if looks_like_formula(cell.value):
                cell.data_type = "s"


def xlsx_response(start, end, records, verdicts, actions, gaps, rounds_, lang):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "logs"
    sheet.append(["id", "kind", "day", "occurred_at (UTC)", "recorded_at (UTC)", "author", "version",
                  "verdict", "checklist", "findings", "entry"])
    for r in records:
        v = verdicts.get(r.id)
        sheet.append([r.id, r.kind, str(r.day), r.occurred_at, r.recorded_at, r.author, r.version,
                      v.verdict if v else "", v.checklist_version if v else "",
                      ", ".join(f["item"] for f in v.finding_list()) if v else "",
                      json.dumps(r.values(), ensure_ascii=False)])
    findings = book.create_sheet("findings")
    findings.append(["record", "item", "d", "severity", "value", "limit", "message"])
    for r in records:
        v = verdicts.get(r.id)
        for f in (v.finding_list() if v else []):
            findings.append([r.id, f["item"], f["d"], f["severity"], str(f["value"]), str(f["limit"]),
                             f["message_en"] if lang == "en" else f["message_zh"]])
    acts = book.create_sheet("corrective actions")
    acts.append(["id", "record", "item", "severity", "owner", "status", "opened (UTC)", "due (UTC)",
                 "acknowledged (UTC)", "acknowledged by", "cause", "action taken", "disposition", "acted (UTC)",
                 "acted by", "verified (UTC)", "verified by", "verification"])
    for a in actions:
        acts.append([a.id, a.record_id, a.item, a.severity, a.owner, a.status, a.opened_at, a.due_at,
                     a.acknowledged_at, a.acknowledged_by, a.cause, a.action_taken, a.disposition, a.acted_at,
                     a.acted_by, a.verified_at, a.verified_by, a.verification])
    graded = book.create_sheet("inspection rounds")
    graded.append(["round", "day", "cadence", "area", "inspector", "rate %", "item", "d", "grade", "points",
                   "remark", "photo"])
    for r in rounds_:
        for g in r.grades.order_by(InspectionGrade.id):
            graded.append([r.id, str(r.day), r.cadence, r.area, r.inspector, r.rate, g.item, g.d, g.grade,
                           g.points, g.remark, g.photo])
    missing = book.create_sheet("incomplete")
    missing.append(["day", "missing record"])
    for day, items in gaps.items():
        for item in items:
            missing.append([str(day), str(item)])
    for sheet in book.worksheets:
        as_text(sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    name = f"canteen-food-safety-{start}-{end}{'-INCOMPLETE' if gaps else ''}.xlsx"
    return Response(buffer.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/rounds/<int:round_id>")
@allow(*READ)
def round_detail(round_id):
    """One inspection round: every item's grade, remark and photo."""
    row = InspectionRound.get_or_none(InspectionRound.id == round_id) or abort(404)
    area = ROUNDS.areas.get(row.area)
    labels = {i.id: i.label(current_language()) for i in area.items} if area else {}
    grades = list(row.grades.order_by(InspectionGrade.id))
    return render_template("safety/round.html", row=row, area=area, grades=grades, labels=labels,
                           grade_names={g.code: g.label(current_language()) for g in ROUNDS.grades},
                           lang=current_language())
