"""The alerts inbox, the expected-log schedule, digests and the jobs page."""
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..access import actor, allow, current_roles
from ..i18n import current_language
from ..models import database, utcnow
from ..office.forms import ConfirmForm
from ..reports.weekly import render_stored
from ..safety.models import StorageUnit
from ..safety.schema import KINDS
from ..web import form_id
from .digests import Digest
from .models import Alert, ExpectedLog, JobRun
from .scheduler import JOBS, next_runs

bp = Blueprint("alerts", __name__)
TIMES = re.compile(r"^\s*([01]?\d|2[0-3]):[0-5]\d\s*(,\s*([01]?\d|2[0-3]):[0-5]\d\s*)*$")


def visible_alerts():
    roles = current_roles()
    return Alert.select().where(Alert.role.in_(list(roles)) & Alert.resolved_at.is_null())


@bp.app_context_processor
def _badge():
    """The open-alert count beside "Alerts" in the back office, for the reader's roles."""
    from flask_login import current_user
    if not current_user.is_authenticated:
        return {"alert_count": 0}
    try:
        return {"alert_count": visible_alerts().count()}
    except Exception:  # noqa: BLE001 - a badge must never break a page
        return {"alert_count": 0}


@bp.route("/alerts", methods=["GET", "POST"])
@allow("manager", "union", "admin")
def inbox():
    """Open alerts for the reader's roles; acknowledge or resolve them."""
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        alert = visible_alerts().where(Alert.id == form_id("alert")).first() or abort(404)
        step = request.form.get("step")
        with database.atomic():
            if step == "acknowledge" and alert.acknowledged_at is None:
                alert.acknowledged_at, alert.acknowledged_by = utcnow(), actor()
            elif step == "resolve":
                alert.resolved_at, alert.resolved_by = utcnow(), actor()
            else:
                abort(400)
            alert.save()
            audit.record(actor(), f"alert.{step}", "alert", alert.id, key=alert.key)
        return redirect(url_for("alerts.inbox"))
    rows = list(visible_alerts().order_by(Alert.created_at.desc()).limit(300))
    return render_template("jobs/inbox.html", rows=rows, confirm=ConfirmForm(), lang=current_language())


@bp.route("/safety/schedule", methods=["GET", "POST"])
@allow("manager", "union", "admin")
def schedule():
    """What must be logged when (a missed slot raises an alert after its grace period)."""
    errors = {}
    if request.method == "POST":
        if "manager" not in current_roles():
            abort(403)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        if request.form.get("deactivate"):
            row = ExpectedLog.get_or_none(ExpectedLog.id == form_id("deactivate")) or abort(404)
            with database.atomic():
                row.active = False
                row.save()
                audit.record(actor(), "schedule.deactivate", "expected_log", row.id)
            return redirect(url_for("alerts.schedule"))
        kind = request.form.get("kind")
        unit = request.form.get("unit", type=int)
        unit = unit if unit is None else form_id("unit") or 0  # 0: sent, but no unit's id
        times = request.form.get("times", "")
        grace = request.form.get("grace", type=int)
        if kind not in KINDS and kind != "round":
            errors["kind"] = _("Choose a log.")
        if unit is not None and not (unit and StorageUnit.get_or_none(StorageUnit.id == unit)):
            errors["unit"] = _("Choose a storage unit.")
        if not TIMES.match(times):
            errors["times"] = _("Times like 08:00, 16:00")
        if grace is None or not 0 <= grace <= 720:
            errors["grace"] = _("Minutes between 0 and 720.")
        if not errors:
            with database.atomic():
                row = ExpectedLog.create(kind=kind, unit=unit, times=",".join(t.strip() for t in times.split(",")),
                                         grace_minutes=grace)
                audit.record(actor(), "schedule.create", "expected_log", row.id, kind=kind, unit=unit,
                             times=row.times, grace=grace)
            flash(_("Saved."))
            return redirect(url_for("alerts.schedule"))
    rows = list(ExpectedLog.select().where(ExpectedLog.active).order_by(ExpectedLog.kind))
    units = {u.id: u.name for u in StorageUnit.select()}
    return render_template("jobs/schedule.html", rows=rows, units=units, kinds=KINDS, errors=errors,
                           confirm=ConfirmForm(), lang=current_language(), form=request.form), 422 if errors else 200


@bp.get("/digests")
@allow("manager", "union", "admin")
def digests():
    """Stored digests: the daily food-safety one (manager) and the weekly feedback one (all)."""
    kinds = ["weekly"] + (["daily"] if current_roles() & {"manager", "admin"} else [])
    rows = Digest.select().where(Digest.kind.in_(kinds)).order_by(Digest.created_at.desc()).limit(100)
    return render_template("jobs/digests.html", rows=rows)


@bp.get("/digests/<int:digest_id>")
@allow("manager", "union", "admin")
def digest(digest_id):
    """One digest."""
    row = Digest.get_or_none(Digest.id == digest_id) or abort(404)
    if row.kind == "daily" and not current_roles() & {"manager", "admin"}:
        abort(403)
    data = row.data()
    if row.kind == "weekly" and "dishes" in data:  # older weekly digests: the simple page below
        return render_stored(data, current_language())
    return render_template("jobs/digest.html", row=row, data=data, kinds=KINDS, lang=current_language())


@bp.get("/admin/jobs")
@allow("admin")
def jobs_page():
    """Each scheduled job: last run, outcome, duration, next run."""
    last = {}
    for run in JobRun.select().order_by(JobRun.started_at.desc()).limit(2000):
        last.setdefault(run.job, run)
    return render_template("jobs/jobs.html", jobs=JOBS, last=last, now=utcnow(), upcoming=next_runs())
