"""The kitchen manager's food-safety pages: today's logs, each log's list, form and history,
the registers and stock on hand. Union representatives may read; only managers write."""
import datetime as dt
import json

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from .. import audit
from ..access import actor, allow, current_roles
from ..clock import clock
from ..i18n import current_language
from ..models import Dish, database, utcnow
from ..office.catalog import PHOTO_ERRORS
from ..office.forms import ConfirmForm, printable
from ..photos import PhotoError, save_photo
from ..vocabulary import MEALS, TRAINING_TOPICS
from ..web import form_id
from . import service
from .models import (
    DISPOSITIONS,
    UNIT_KINDS,
    CorrectiveAction,
    SafetyAmendment,
    SafetyRecord,
    Staff,
    StockLot,
    StorageUnit,
    Supplier,
    Training,
)
from .schema import KINDS, EntryErrors

bp = Blueprint("safety", __name__, url_prefix="/safety")

READ = ("manager", "union", "admin")

# The validator's messages, translated (same placeholders as schema.MESSAGES).
SAY = {
    "unknown": _l("{label} is not a field of this log"),
    "text": _l("{label}: must be text"),
    "too_long": _l("{label}: at most {n} characters"),
    "choice": _l("{label}: choose one of {options}"),
    "integer": _l("{label}: must be a whole number"),
    "number": _l("{label}: must be a number"),
    "range": _l("{label}: must be between {min} and {max} {unit}"),
    "bool": _l("{label}: must be yes or no"),
    "date": _l("{label}: must be a date like 2026-11-26"),
    "datetime": _l("{label}: must be a date and time like 2026-11-26T08:30"),
    "ref": _l("{label}: there is no such entry in the register"),
    "required": _l("{label} is required"),
    "future": _l("{label} cannot be in the future"),
    "date_range": _l("{label}: the year must be between {min} and {max}"),
    "before": _l("{label} cannot be before {other}"),
}
STOCK_STATUS = {"usable": _l("usable"), "near_expiry": _l("use soon"), "expired": _l("expired"),
                "on_hold": _l("on hold")}
UNIT_NAMES = {"dry": _l("Dry store"), "cold_room": _l("Cold room"), "fridge": _l("Fridge"),
              "freezer": _l("Freezer"), "sample_fridge": _l("Sample fridge")}


def say(key, **params):
    return str(SAY[key]).format(**params).replace("  ", " ").strip()


def kind_or_404(name):
    if name not in KINDS:
        abort(404)
    return KINDS[name]


def registers():
    """Choices for reference fields, active entries only."""
    lang = current_language()
    return {
        "supplier": [(s.id, s.name) for s in Supplier.select().where(Supplier.active).order_by(Supplier.name)],
        "unit": [(u.id, f"{u.name} ({UNIT_NAMES[u.kind]})") for u in
                 StorageUnit.select().where(StorageUnit.active).order_by(StorageUnit.name)],
        "staff": [(s.id, s.name) for s in Staff.select().where(Staff.active).order_by(Staff.name)],
        "dish": [(d.id, d.name(lang)) for d in Dish.select().where(Dish.active).order_by(Dish.name_zh)],
        "meal": [(m, MEALS[m]) for m in (w.name for w in clock().windows)],
    }


def display(kind, values):
    """(label, shown value) pairs for a record, names instead of ids."""
    lang = current_language()
    names = {}
    for ref_type, choices in registers().items():
        names[ref_type] = dict(choices)
    names["dish"] = {d.id: d.name(lang) for d in Dish.select()}
    names["staff"] = {s.id: s.name for s in Staff.select()}
    names["supplier"] = {s.id: s.name for s in Supplier.select()}
    names["unit"] = {u.id: u.name for u in StorageUnit.select()}
    rows = []
    for f in kind.fields:
        if f.name not in values:
            continue
        value = values[f.name]
        if f.type in names:
            value = names[f.type].get(value, value)
        elif f.type == "choice":
            value = f.choice_label(value, lang)
        elif f.type == "bool":
            value = _("yes") if value else _("no")
        elif f.type in ("number", "integer"):
            value = f"{value:g} {f.unit}".strip()
        elif f.type == "datetime":
            value = value.replace("T", " ")
        elif f.type == "photo":
            value = Markup('<a href="{0}"><img class="thumb" src="{0}" alt=""></a>').format(
                url_for("safety.photo", name=value))
        rows.append((f.label(lang), value))
    if kind.name == "sample" and values.get("stored_at"):
        keep = dt.datetime.fromisoformat(values["stored_at"]) + dt.timedelta(hours=48)
        rows.append((_("Retain until"), keep.isoformat(sep=" ", timespec="minutes")))
    return rows


def flash_findings(verdict):
    """The verdict at once, each failed item with what to do now."""
    lang = current_language()
    if verdict.verdict == "pass":
        flash(_("4D check: pass."))
        return
    for f in verdict.findings:
        flash(f"{f.item} · {f.message(lang)} — {f.action(lang)}", "warning")


def form_values(kind, previous=None):
    """The posted entry; a photo field takes the stored name of its upload (or keeps the
    previous one). Raises EntryErrors for an upload that is not a picture."""
    data = {}
    for key in request.form:
        if key in ("csrf_token", "reason", "decision"):
            continue
        value = request.form.get(key, "").strip()
        data[key] = value if value != "" else None
    for f in kind.fields:
        if f.type != "photo":
            continue
        data.pop(f.name, None)
        upload = request.files.get(f.name)
        if upload and upload.filename:
            try:
                data[f.name] = save_photo(upload.read(), current_app.config["PHOTO_DIR"],
                                          current_app.config["PHOTO_MAX_BYTES"])
            except PhotoError as e:
                raise EntryErrors({f.name: str(PHOTO_ERRORS[str(e)])}) from None
        elif previous and previous.get(f.name):
            data[f.name] = previous[f.name]
    return data


@bp.get("/files/<name>")
@allow(*READ)
def photo(name):
    """A certificate or inspection photo: for signed-in roles only, never kept by a shared cache."""
    response = send_from_directory(current_app.config["PHOTO_DIR"], name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/")
@allow(*READ)
def today():
    """What has been logged today and what is still missing."""
    day = clock().today()
    counts = {}
    for (kind,) in SafetyRecord.select(SafetyRecord.kind).where(SafetyRecord.day == day).tuples():
        counts[kind] = counts.get(kind, 0) + 1
    return render_template("safety/today.html", day=day, kinds=KINDS, counts=counts,
                           missing=missing_on(day), lang=current_language())


def missing_on(day):
    """Concrete gaps on `day` as (log kind, what is missing): meals served (so far) without
    tableware or samples, cold units without a reading, staff without a morning check. Only
    what existed that day counts, and days to come have no gaps yet."""
    now = clock().now()
    if day > now.date():
        return []
    end_of_day = clock().local_to_utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
    done = [(r.kind, r.values()) for r in SafetyRecord.select().where(SafetyRecord.day == day)]
    gaps = []
    started = [w.name for w in clock().windows if w.occurrence(day)[0] <= now]
    lang = current_language()
    for meal in started:
        served = list(Dish.served_on(day, meal))
        if not served:
            continue
        if not any(k == "tableware" and v.get("meal") == meal for k, v in done):
            gaps.append(("tableware", _("Tableware disinfection for %(meal)s", meal=MEALS[meal])))
        sampled = {v.get("dish") for k, v in done if k == "sample" and v.get("meal") == meal}
        for dish in served:
            if dish.id not in sampled:
                gaps.append(("sample", _("Retained sample of %(dish)s (%(meal)s)", dish=dish.name(lang),
                                         meal=MEALS[meal])))
    read_units = {v.get("unit") for k, v in done if k == "storage"}
    for unit in StorageUnit.select().where(StorageUnit.active & StorageUnit.kind.in_(
            ["cold_room", "fridge", "freezer", "sample_fridge"]) & (StorageUnit.created_at < end_of_day)):
        if unit.id not in read_units:
            gaps.append(("storage", _("Temperature of %(unit)s", unit=unit.name)))
    checked = {v.get("staff") for k, v in done if k == "health_check"}
    for person in Staff.select().where(Staff.active & (Staff.created_at < end_of_day)):
        if person.id not in checked:
            gaps.append(("health_check", _("Morning health check of %(name)s", name=person.name)))
    return gaps


@bp.get("/<kind_name>/")
@allow(*READ)
def records(kind_name):
    """One log's entries, newest first, filtered by dates and the log's references."""
    kind = kind_or_404(kind_name)
    today_ = clock().today()
    start, end = today_ - dt.timedelta(days=30), today_
    try:
        start = dt.date.fromisoformat(request.args.get("from") or start.isoformat())
        end = dt.date.fromisoformat(request.args.get("to") or end.isoformat())
    except ValueError:
        flash(_("The dates could not be read; showing the last 30 days."), "warning")
    query = (SafetyRecord.select()
             .where((SafetyRecord.kind == kind_name) & SafetyRecord.day.between(start, end))
             .order_by(SafetyRecord.occurred_at.desc())
             .limit(500))
    ref_fields = [f for f in kind.fields if f.type in ("supplier", "unit", "staff", "dish", "meal", "choice", "bool")]
    filters = {f.name: request.args.get(f.name) for f in ref_fields if request.args.get(f.name)}
    rows = []
    for record in query:
        values = record.values()
        if any(str(values.get(name)).lower() != value.lower() for name, value in filters.items()):
            continue
        rows.append((record, display(kind, values)[:4], service.latest_verdict(record)))
    return render_template("safety/records.html", kind=kind, rows=rows, start=start, end=end,
                           filter_fields=[f for f in ref_fields if f.type in ("supplier", "unit", "staff", "meal")
                                          or f.name == "accepted"],
                           filters=filters, choices=registers(), lang=current_language())


@bp.route("/<kind_name>/new", methods=["GET", "POST"])
@allow("manager")
def new_record(kind_name):
    """A log entry on a kitchen tablet: big targets, numeric keypads, server time stamp."""
    kind = kind_or_404(kind_name)
    form = ConfirmForm()
    errors, values = {}, {"meal": clock().slot().meal}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        values = dict(request.form)
        try:
            values = form_values(kind, kept_photos(kind))
            ask = ask_reject(kind_name, values)
            if ask is None:
                record, verdict = service.create(kind_name, values, actor(), current_language(), say)
        except EntryErrors as e:
            errors = e.errors
        else:
            if ask is not None:
                return render_template("safety/form.html", kind=kind, form=form, values=values, errors={},
                                       choices=registers(), lang=current_language(), record=None, ask=ask)
            flash(_("Saved: %(kind)s.", kind=kind.label(current_language())))
            flash_findings(verdict)
            return redirect(url_for("safety.record", kind_name=kind_name, record_id=record.id))
    return render_template("safety/form.html", kind=kind, form=form, values=values, errors=errors,
                           choices=registers(), lang=current_language(), record=None), 422 if errors else 200


def kept_photos(kind):
    """Photos already uploaded with this form (carried through the "reject?" question)."""
    return {f.name: request.form.get(f.name) for f in kind.fields if f.type == "photo" and request.form.get(f.name)}


def ask_reject(kind_name, values):
    """Before a failing delivery is saved as accepted: the findings, to ask "reject?" (the
    judgement POST /api/v1/safety/<kind>/check gives). None when there is nothing to ask or
    the manager has answered: "reject" turns the entry into a rejection with the findings as
    its reason, "accept" saves it accepted (it enters stock on hold)."""
    decision = request.form.get("decision")
    if decision == "accept":
        return None
    verdict, clean = service.judge_entry(kind_name, values, current_language(), say)
    if not service.should_ask_reject(kind_name, clean, verdict):
        return None
    if decision == "reject":
        values["accepted"] = "false"
        values["reject_reason"] = values.get("reject_reason") or "; ".join(
            f.message(current_language()) for f in verdict.findings)[:200]
        return None
    return verdict


@bp.get("/<kind_name>/<int:record_id>")
@allow(*READ)
def record(kind_name, record_id):
    """One entry: current values, the original, every correction with its reason and author."""
    kind = kind_or_404(kind_name)
    entry = service.find(kind_name, record_id) or abort(404)
    labels = {f.name: f.label(current_language()) for f in kind.fields}
    amendments = [(a, [labels.get(name, name) for name in json.loads(a.changed)])
                  for a in entry.amendments.order_by(SafetyAmendment.version.desc())]
    return render_template("safety/record.html", kind=kind, entry=entry, current=display(kind, entry.values()),
                           original=display(kind, entry.original()), amendments=amendments,
                           verdict=service.latest_verdict(entry), actions=list(entry.actions),
                           keep_until=service.keep_until(entry), local=clock().to_local,
                           lot=StockLot.get_or_none(StockLot.record == entry), today=clock().today(),
                           status_names=STOCK_STATUS)


@bp.route("/<kind_name>/<int:record_id>/amend", methods=["GET", "POST"])
@allow("manager")
def amend(kind_name, record_id):
    """Correct an entry: the original stays, the correction carries a reason and an author."""
    kind = kind_or_404(kind_name)
    entry = service.find(kind_name, record_id) or abort(404)
    form = ConfirmForm()
    errors, values = {}, entry.values()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        previous, values = values, dict(request.form)
        ask = None
        try:
            values = form_values(kind, previous)
            ask = ask_reject(kind_name, values)
            if ask is None:
                _amendment, verdict = service.amend(entry, values, request.form.get("reason"), actor(),
                                                    current_language(), say)
        except EntryErrors as e:
            errors = e.errors
        else:
            if ask is not None:
                return render_template("safety/form.html", kind=kind, form=form, values=values, errors={},
                                       choices=registers(), lang=current_language(), record=entry,
                                       reason=request.form.get("reason", ""), ask=ask)
            flash(_("The correction is saved; the original is kept."))
            flash_findings(verdict)
            return redirect(url_for("safety.record", kind_name=kind_name, record_id=entry.id))
    return render_template("safety/form.html", kind=kind, form=form, values=values, errors=errors,
                           choices=registers(), lang=current_language(), record=entry,
                           reason=request.form.get("reason", "")), 422 if errors else 200


# --- registers ------------------------------------------------------------------

REGISTER_FIELDS = {
    "suppliers": (Supplier, [("name", "text", _l("Name")), ("licence_no", "text", _l("Licence number")),
                             ("licence_expiry", "date", _l("Licence valid until")), ("contact", "text", _l("Contact"))]),
    "units": (StorageUnit, [("name", "text", _l("Name")), ("kind", "unit_kind", _l("Type")),
                            ("owner", "staff", _l("Owner (4D responsibility)")), ("checker", "staff", _l("Checker"))]),
    "staff": (Staff, [("name", "text", _l("Name")), ("job", "text", _l("Job")),
                      ("health_cert_no", "text", _l("Health certificate number")),
                      ("health_cert_expiry", "date", _l("Health certificate valid until"))]),
}


def register_or_404(name):
    if name not in REGISTER_FIELDS:
        abort(404)
    return REGISTER_FIELDS[name]


def read_register_form(name, fields):
    """Clean values or {field: error} for a register entry."""
    values, errors = {}, {}
    for field, kind, label in fields:
        raw = printable(request.form.get(field) or "")
        if kind == "text":
            if field == "name" and not raw:
                errors[field] = _("%(label)s is required", label=label)
            elif len(raw) > 80:
                errors[field] = _("%(label)s: at most 80 characters", label=label)
            values[field] = raw
        elif kind == "date":
            try:
                values[field] = dt.date.fromisoformat(raw) if raw else None
            except ValueError:
                errors[field] = _("%(label)s: must be a date like 2026-11-26", label=label)
        elif kind == "unit_kind":
            if raw not in UNIT_KINDS:
                errors[field] = _("%(label)s is required", label=label)
            values[field] = raw
        elif kind == "staff":
            values[field] = int(raw) if raw.isdigit() and Staff.get_or_none(Staff.id == int(raw)) else None
    return values, errors


@bp.route("/registers/<name>", methods=["GET", "POST"])
@allow(*READ)
def register(name):
    """Suppliers, storage units or staff: list and add (managers add)."""
    model, fields = register_or_404(name)
    errors, values = {}, {}
    if request.method == "POST":
        if "manager" not in _roles():
            abort(403)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        values, errors = read_register_form(name, fields)
        if not errors and "name" in values and model.select().where(model.name == values["name"]).exists() \
                and model is not Staff:
            errors["name"] = _("This name is already in the register.")
        if not errors:
            with database.atomic():
                row = model.create(**values)
                audit.record(actor(), f"register.{name}.create", name, row.id, rows=[row],
                             **{k: v for k, v in values.items()})
            flash(_("Added %(name)s.", name=values["name"]))
            return redirect(url_for("safety.register", name=name))
    rows = model.select().order_by(model.name)
    return render_template("safety/register.html", name=name, fields=fields, rows=rows, errors=errors,
                           values=values, confirm=ConfirmForm(), unit_names=UNIT_NAMES,
                           staff=registers()["staff"], today=clock().today(),
                           trainings=Training.select().order_by(Training.day.desc()).limit(200)
                           if name == "staff" else []), 422 if errors else 200


@bp.post("/registers/<name>/<int:row_id>/active")
@allow("manager")
def toggle_register(name, row_id):
    """Take an entry out of use (or back): records that name it keep their link."""
    model, _fields = register_or_404(name)
    row = model.get_or_none(model.id == row_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        with database.atomic():
            row.active = not row.active
            row.save()
            audit.record(actor(), f"register.{name}.active", name, row.id, rows=[row], active=row.active)
    return redirect(url_for("safety.register", name=name))


@bp.post("/registers/staff/<int:staff_id>/training")
@allow("manager")
def add_training(staff_id):
    """Record a training a staff member received (3D: training in place)."""
    person = Staff.get_or_none(Staff.id == staff_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    topic = request.form.get("topic") or ""
    try:
        day = dt.date.fromisoformat(request.form.get("day") or "")
    except ValueError:
        day = None
    if topic not in TRAINING_TOPICS or day is None or day > clock().today():
        flash(_("A training needs a topic and a date that is not in the future."), "warning")
    else:
        with database.atomic():
            training = Training.create(staff=person, topic=topic, day=day,
                                       trainer=(request.form.get("trainer") or "").strip()[:60])
            audit.record(actor(), "register.training.create", "training", training.id, rows=[training],
                         staff=person.id,
                         topic=topic, day=day)
        flash(_("Training recorded for %(name)s.", name=person.name))
    return redirect(url_for("safety.register", name="staff"))


def _roles():
    return current_roles()


# --- stock ------------------------------------------------------------------------

@bp.route("/stock", methods=["GET", "POST"])
@allow(*READ)
def stock():
    """Stock on hand by use-by date: expired and near-expiry goods first."""
    if request.method == "POST":
        if "manager" not in _roles():
            abort(403)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        lot = StockLot.get_or_none(StockLot.id == form_id("lot")) or abort(404)
        try:
            quantity = float(request.form.get("quantity", ""))
        except ValueError:
            quantity = -1
        try:
            service.take_from_lot(lot, quantity, request.form.get("reason", "used"), actor())
        except service.StockError as e:
            if str(e) == "on_hold":
                flash(_("%(item)s is on hold until its corrective action settles it: it cannot be used.",
                        item=lot.item), "warning")
            else:
                flash(_("Take between 0 and %(n)s %(unit)s.", n=f"{lot.remaining:g}", unit=lot.qty_unit), "warning")
        else:
            flash(_("Recorded."))
        return redirect(url_for("safety.stock"))
    today_ = clock().today()
    lots = service.lots_on_hand()
    actions = {a.record_id: a for a in CorrectiveAction.select().where(
        CorrectiveAction.record.in_([lot.record_id for lot in lots if lot.on_hold]))}
    return render_template("safety/stock.html", lots=lots, today=today_, confirm=ConfirmForm(),
                           actions=actions, status_names=STOCK_STATUS, local=clock().to_local)


@bp.app_context_processor
def _log_kinds():
    return {"kinds_all": KINDS}


# --- corrective actions ---------------------------------------------------------------

@bp.get("/actions")
@allow(*READ)
def actions():
    """Corrective actions, open and overdue first."""
    rows = list(CorrectiveAction.select().order_by(
        CorrectiveAction.status == "verified", CorrectiveAction.due_at))
    return render_template("safety/actions.html", rows=rows, now=utcnow(), local=clock().to_local)


@bp.route("/actions/<int:action_id>", methods=["GET", "POST"])
@allow(*READ)
def action(action_id):
    """One corrective action and its next step: acknowledge, record what was done, verify."""
    item = CorrectiveAction.get_or_none(CorrectiveAction.id == action_id) or abort(404)
    errors = {}
    if request.method == "POST":
        if "manager" not in _roles():
            abort(403)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        errors = advance(item, request.form)
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("safety.action", action_id=item.id))
    return render_template("safety/action.html", item=item, errors=errors,
                           needs_recheck=bool(service.temperature_items(item)),
                           confirm=ConfirmForm(), dispositions=DISPOSITIONS, local=clock().to_local,
                           form=request.form, me=actor()), 422 if errors else 200


ACTION_SAY = {
    "required": _l("Required."),
    "disposition": _l("Choose what happened to the product."),
    "other_person": _l("Someone other than the person who acted must verify."),
    "recheck": _l("Enter the re-check reading in ℃."),
    "recheck_failed": _l("The re-check reading is still outside the limit: it is recorded; act again and re-check."),
    "verified": _l("This action is already verified."),
}


def advance(item, form):
    """Move the action one step on (service.advance_action); {field: error} when it cannot."""
    return service.advance_action(item, form, actor(), lambda key: str(ACTION_SAY[key]))
