"""The canteen's 4D standing: inspection rounds, the compliance dashboard, the inspector's
export. Managers do rounds; managers and union representatives read the rest."""
import datetime as dt
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
from ..checklists.engine import Finding
from ..checklists.rounds import ROUNDS, rate_with_open_findings, score
from ..clock import clock
from ..i18n import current_language
from ..models import database, utcnow
from ..office.catalog import PHOTO_ERRORS
from ..office.forms import ConfirmForm, printable
from ..photos import PhotoError, save_photo
from . import report, service
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
                           by_d=rates_by_d(since, open_critical_by_d()))


def open_critical_by_d():
    """{d: open critical findings} over corrective actions not yet verified."""
    counts = Counter()
    for action in CorrectiveAction.select().where(CorrectiveAction.status != "verified"):
        counts.update(f["d"] for f in action.findings() if f.get("severity") == "critical")
    return counts


def rates_by_d(since, open_critical=None):
    """{d: rate %} over all graded items since `since`, each open critical finding of a D
    counting as one more item graded 差 (rounds alone do not make the score)."""
    points = {}
    query = (InspectionGrade.select(InspectionGrade.d, InspectionGrade.points)
             .join(InspectionRound).where(InspectionRound.day >= since).tuples())
    for d, p in query:
        points.setdefault(d, []).append(p)
    open_critical = open_critical or {}
    rates = {d: rate_with_open_findings(ROUNDS, points.get(d, []), open_critical.get(d, 0))
             for d in set(points) | set(open_critical)}
    return {d: r for d, r in rates.items() if r is not None}


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
                written = [row] + [
                    InspectionGrade.create(round=row, item=item.id, d=item.d, grade=grades[item.id],
                                           points=ROUNDS.grade(grades[item.id]).points,
                                           remark=remarks[item.id], photo=photos.get(item.id))
                    for item in area.items]
                action = service.open_action(None, poor_findings(area, grades, remarks), round_id=row.id,
                                             owner=actor().split(":", 1)[-1])
                if action is not None:
                    written.append(action)
                audit.record(actor(), "round.create", "inspection_round", row.id, rows=written, area=area.name,
                             grades=grades, rate=rate, corrective_action=action.id if action else None)
            flash(_("Round saved: %(rate)s %%.", rate=rate))
            return redirect(url_for("standing.rounds"))
    return render_template("safety/round_form.html", area=area, grades=ROUNDS.grades, form=form,
                           errors=errors, values=request.form, lang=current_language()), 422 if errors else 200


def poor_findings(area, grades, remarks):
    """A 差 in a round is a major finding of its item's D: together they open one corrective action."""
    poor = ROUNDS.grade("poor")
    return [Finding(item.id, item.d, "major", poor.zh + " / " + poor.en, None,
                    f"{area.zh} · {item.zh}：{remarks[item.id] or ''}", f"{area.en} · {item.en}: {remarks[item.id] or ''}",
                    "整改并在下次巡查中复查", "Put it right and check it at the next round")
            for item in area.items if grades.get(item.id) == "poor"]


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
    critical = open_critical_by_d()
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
                           recurring=recurring.most_common(10), by_d=rates_by_d(since, critical), critical=critical, trend=trend, d_trend=d_trend,
                           areas=ROUNDS.areas, lang=current_language(), today=today, ds=DS)


# --- the inspector's export -----------------------------------------------------------------

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
    """Inspector's report for a date range: printable HTML (A4 landscape), or ?format=xlsx."""
    start, end = parse_range()
    lang = current_language()
    data = report.build(start, end, lang, display, missing_on)
    if request.args.get("format") == "xlsx":
        name = f"canteen-food-safety-{start}-{end}{'-INCOMPLETE' if data.gaps else ''}.xlsx"
        return Response(report.xlsx(data, current_app.config["CANTEEN_NAME"]),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return render_template("safety/export.html", report=data, start=start, end=end, lang=lang,
                           fixed=report.fixed_headers())


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
