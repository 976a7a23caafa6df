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

from ..access import actor, allow, current_roles
from ..clock import clock
from ..i18n import current_language, names_list
from ..models import Dish, utcnow
from ..office.catalog import PHOTO_ERRORS
from ..office.forms import ConfirmForm
from ..photos import PhotoError, save_photo
from ..vocabulary import MEALS
from ..web import MAX_ID, form_id
from . import registers as registers_rules
from . import service, shift_check
from .models import (
    DISPOSITIONS,
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


# The time of the event is checked by the service in English (the API's words); the forms say it
# in the reader's language.
TIME_SAY = {
    "occurred_at must be a time like 2026-11-26T08:30": _l("The time must be like 2026-11-26 08:30"),
    "occurred_at cannot be in the future": _l("The time cannot be in the future"),
    "occurred_at is more than a year ago": _l("The time is more than a year ago"),
    "occurred_at cannot be after the entry was recorded": _l("It cannot have happened after it was entered"),
}


# Likewise a correction's reason (service.amend).
REASON_SAY = {
    "Give the reason for the correction": _l("Give the reason for the correction"),
    "The reason may have at most 300 characters": _l("The reason may have at most 300 characters"),
    "Nothing was changed": _l("Nothing was changed"),
}


def said(errors):
    """The errors of an entry, the time's and the reason's in the reader's language."""
    words = {"occurred_at": TIME_SAY, "reason": REASON_SAY}
    return {k: str(words[k].get(v, v)) if k in words else v for k, v in errors.items()}


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
        if key in ("csrf_token", "reason", "decision", "occurred_default", "once"):
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
    errors, values = {}, starting_values(kind)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        values = dict(request.form)
        try:
            values = form_values(kind, kept_photos(kind))
            if values.get("occurred_at") == request.form.get("occurred_default"):
                values.pop("occurred_at", None)  # left as the page put it: the server's time of entry
            ask = ask_reject(kind_name, values)
            if ask is None:
                record, verdict = service.create(kind_name, values, actor(), current_language(), say,
                                                 once=service.form_token(request.form))
        except EntryErrors as e:
            errors = said(e.errors)
        except service.BatchSaved as e:  # a double tap on Save: the first one stored it
            flash(_("This entry was saved already."))
            return redirect(url_for("safety.record", kind_name=kind_name, record_id=e.record_id))
        else:
            if ask is not None:
                return render_template("safety/form.html", kind=kind, form=form, values=values, errors={},
                                       choices=registers(), lang=current_language(), record=None, ask=ask,
                                       **form_aids(kind, values))
            flash(_("Saved: %(kind)s.", kind=kind.label(current_language())))
            flash_findings(verdict)
            return redirect(url_for("safety.record", kind_name=kind_name, record_id=record.id))
    return render_template("safety/form.html", kind=kind, form=form, values=values, errors=errors,
                           choices=registers(), lang=current_language(), record=None,
                           **form_aids(kind, values)), 422 if errors else 200


def local_minute(when=None):
    """A local time as a datetime-local input shows it (to the minute)."""
    return (when or clock().now()).strftime("%Y-%m-%dT%H:%M")


# Times of the event a new entry starts with: now (editable).
NOW_FIELDS = {("transport", "arrived_at"), ("sample", "stored_at")}


def starting_values(kind):
    """A new entry's defaults: the meal being served, the shift about to start, the time of the
    event (now), and the supplier, storage unit and people of this user's last entry of the
    same log."""
    now = local_minute()
    values = {"meal": clock().slot().meal, "occurred_at": now}
    values.update({name: now for k, name in NOW_FIELDS if k == kind.name})
    if kind.name == "health_check":
        values["shift"] = shift_check.default_shift(clock().now(), clock().shifts, kind.field("shift").choices)
    values.update(service.remembered(kind.name, actor()))
    return values


def form_aids(kind, values):
    """What a new entry's form offers beside the fields: the "all normal" preset, the dishes
    of the meal being served, the supplier's earlier items, the time it was pre-filled with."""
    normal = {f.name: ("true" if f.normal is True else "false" if f.normal is False else f.normal)
              for f in kind.fields if f.normal is not None}
    slot = clock().slot()
    meal = values.get("meal") if values.get("meal") in MEALS else slot.meal  # a posted value is untrusted
    menu = [d.id for d in Dish.served_on(slot.day, meal)]
    rules = {f.name: f.required_if for f in kind.fields if f.required_if}
    types = {f.name: f.type for f in kind.fields}
    return {"normal": normal, "menu": menu, "rules": rules, "types": types,
            "occurred_default": request.form.get("occurred_default") or local_minute(),
            "once": service.form_token(request.form) or service.new_form_token(),
            "known": service.known_things(kind.name),
            "known_key": service.KNOWN_THINGS.get(kind.name, ("", None))[:2],
            "unit_kinds": {u.id: u.kind for u in StorageUnit.select()}}


@bp.route("/health/shift", methods=["GET", "POST"])
@allow("manager")
def health_shift():
    """The morning health check of a whole shift on one screen: everyone starts fit, the
    manager taps only the exceptions, one save stores one record per person (all or nothing)."""
    kind = KINDS["health_check"]
    form = ConfirmForm()
    roster = list(Staff.select().where(Staff.active).order_by(Staff.name))
    now = local_minute()
    shared = {"shift": shift_check.default_shift(clock().now(), clock().shifts, kind.field("shift").choices),
              "checked_by": service.remembered("health_check", actor()).get("checked_by"), "occurred_at": now}
    errors, rows_errors, posted = {}, {}, None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        posted = request.form
        shared = {name: (request.form.get(name) or "").strip() or None for name in shift_check.SHARED}
        given = dict(shared)
        if given["occurred_at"] == request.form.get("occurred_default"):
            given.pop("occurred_at", None)  # left as the page put it: the server's time of entry
        batch = shift_check.entries([p.id for p in roster], request.form, given)
        gone = shift_check.left_out([p.id for p in roster], request.form)
        if gone:  # all or nothing, as for any other mistake on the page
            in_range = [i for i in gone if i <= MAX_ID]  # SQLite cannot even compare a larger one
            names = [s.name for s in Staff.select().where(Staff.id.in_(in_range)).order_by(Staff.name)]
            errors["roster"] = _("Nothing was saved: %(names)s was taken out of the staff register after this "
                                 "page was opened. Check the list and save again.",
                                 names=names_list(names) or _("someone"))
        elif not batch:
            errors["roster"] = _("Nobody is marked on duty: tick the people of this shift.")
        else:
            try:
                saved = service.create_many("health_check", [e for _i, e in batch], actor(),
                                            current_language(), say, once=service.form_token(request.form),
                                            seen=shift_check.seen(request.form))
            except service.BatchSaved:  # a double tap on Save: the first one stored it
                flash(_("This shift's check was saved already."))
                return redirect(url_for("safety.records", kind_name="health_check"))
            except service.CheckedMeanwhile as e:  # the same page open in two tabs or on two tablets
                twice = {r.values().get("staff"): r for r in e.records}
                names = [p.name for p in roster if p.id in twice]
                errors["roster"] = _("Nothing was saved: %(names)s got a morning check today after this page was "
                                     "opened (on another tab or tablet). They are unticked now; save again.",
                                     names=names_list(names))
                posted = request.form.to_dict()
                for ident in twice:
                    posted.pop(f"on-{ident}", None)
            except service.BatchErrors as e:
                for position, problems in e.errors.items():
                    for name, message in said(problems).items():
                        if name in shift_check.SHARED:
                            errors[name] = message
                        else:
                            rows_errors[batch[position][0]] = message
            else:
                failing = [(record, verdict) for record, verdict in saved if verdict.verdict != "pass"]
                flash(_("Saved: the morning health check of %(n)d people.", n=len(saved)))
                for record, verdict in failing:
                    name = next(p.name for p in roster if p.id == record.values()["staff"])
                    for f in verdict.findings:
                        flash(f"{name}: {f.item} · {f.message(current_language())} — {f.action(current_language())}",
                              "warning")
                return redirect(url_for("safety.records", kind_name="health_check"))
    on_shift, others = shift_check.split_roster(
        roster, shift_check.roster_shift(shared.get("shift"), clock().now(), clock().shifts))
    others_open = any((posted or {}).get(f"on-{p.id}") or p.id in rows_errors for p in others)
    return render_template("safety/shift.html", kind=kind, form=form, roster=on_shift, others=others,
                           others_open=others_open, shared=shared, posted=posted, errors=errors, rows_errors=rows_errors, answers=shift_check.ANSWERS,
                           bars_work=shift_check.bars_work, exception_label=exception_label,
                           choices=registers(), lang=current_language(),
                           occurred_default=request.form.get("occurred_default") or now,
                           once=service.form_token(request.form) or service.new_form_token(),
                           seen=service.newest_id("health_check"),
                           checked_today=checked_today()), 422 if (errors or rows_errors) else 200


EXCEPTION_NAMES = {"hair_covered": _l("Hair uncovered"), "no_jewellery": _l("Rings / polish")}


def exception_label(field):
    """How an exception reads on the roster: the symptom itself, or the unmet rule."""
    return EXCEPTION_NAMES.get(field.name) or field.label(current_language())


def checked_today():
    """Staff ids with a morning check already logged today."""
    return {r.values().get("staff") for r in SafetyRecord.select().where(
        (SafetyRecord.kind == "health_check") & (SafetyRecord.day == clock().today()))}


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
    labels = {f.name: f.label(current_language()) for f in kind.fields} | {"occurred_at": _("When it happened")}
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
    errors, values = {}, dict(entry.values(), occurred_at=local_minute(clock().to_local(entry.occurred_at)))
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        previous, values = entry.values(), dict(request.form)
        ask = None
        try:
            values = form_values(kind, previous)
            ask = ask_reject(kind_name, values)
            if ask is None:
                _amendment, verdict = service.amend(entry, values, request.form.get("reason"), actor(),
                                                    current_language(), say)
        except EntryErrors as e:
            errors = said(e.errors)
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

def register_or_404(name):
    if name not in registers_rules.REGISTERS:
        abort(404)
    return registers_rules.REGISTERS[name]


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
        values = request.form.to_dict()
        try:
            row = registers_rules.add(name, values, actor())
        except registers_rules.RegisterErrors as e:
            errors = e.errors
        else:
            flash(_("Added %(name)s.", name=row.name))
            return redirect(url_for("safety.register", name=name))
    rows = model.select().order_by(model.name)
    return render_template("safety/register.html", name=name, fields=fields, rows=rows, errors=errors,
                           values=values, confirm=ConfirmForm(), unit_names=UNIT_NAMES,
                           staff=registers()["staff"], today=clock().today(),
                           shift_names=registers_rules.shift_names(), shift_label=registers_rules.shift_label,
                           trainings=Training.select().order_by(Training.day.desc()).limit(200)
                           if name == "staff" else []), 422 if errors else 200


@bp.post("/registers/<name>/<int:row_id>/active")
@allow("manager")
def toggle_register(name, row_id):
    """Take an entry out of use (or back): records that name it keep their link."""
    model, _fields = register_or_404(name)
    row = model.get_or_none(model.id == row_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        registers_rules.set_active(name, row, not row.active, actor())
    return redirect(url_for("safety.register", name=name))


@bp.post("/registers/staff/<int:staff_id>/shift")
@allow("manager")
def set_staff_shift(staff_id):
    """Put a staff member on a shift, or none (those registered before shifts existed too)."""
    person = Staff.get_or_none(Staff.id == staff_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        registers_rules.set_shift(person, request.form.get("shift") or None, actor())
    except registers_rules.RegisterErrors as e:
        flash(next(iter(e.errors.values())), "warning")
    return redirect(url_for("safety.register", name="staff"))


@bp.post("/registers/staff/<int:staff_id>/training")
@allow("manager")
def add_training(staff_id):
    """Record a training a staff member received (3D: training in place)."""
    person = Staff.get_or_none(Staff.id == staff_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        registers_rules.add_training(person, request.form.to_dict(), actor())
    except registers_rules.RegisterErrors:
        flash(_("A training needs a topic and a date that is not in the future."), "warning")
    else:
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
        step = request.form.get("step")
        if step and step != item.status:  # a double tap, or another tab or person took this step
            flash(_("That step was saved already; the action now stands as shown."))
            return redirect(url_for("safety.action", action_id=item.id))
        errors = advance(item, request.form)
        if "status" in errors:  # another tab or person took a step meanwhile: show where it stands
            flash(errors["status"], "warning")
            return redirect(url_for("safety.action", action_id=item.id))
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
    "moved": _l("That step was saved already; the action now stands as shown."),
}


def advance(item, form):
    """Move the action one step on (service.advance_action); {field: error} when it cannot."""
    return service.advance_action(item, form, actor(), lambda key: str(ACTION_SAY[key]))
