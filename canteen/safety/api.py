"""The food-safety JSON API: a thermometer, a scale or a script posts log entries here
(described in canteen/openapi.json). Views parse and answer; `service` holds the rules."""
import datetime as dt

from flask import jsonify, request

from ..access import actor, allow, current_roles
from ..clock import clock
from ..i18n import current_language
from ..jsonapi import blueprint, error, in_english, read_body
from . import registers, service
from .models import Staff
from .schema import KINDS, EntryErrors, json_type_errors

bp = blueprint("safety_api", __name__)


# Only the log kinds: /safety/stock is not a kind, so POST there is a 405 and its Allow says GET;
# an unknown kind is a 404 from the routing.
ANY_KIND = "<any(" + ", ".join(KINDS) + "):kind_name>"


def entry_errors(e):
    field, message = next(iter(e.errors.items()))
    return error(message, field, 422, errors=e.errors)


def typed(kind_name, entry):
    """The API takes JSON types as its schema says (the forms' text is read leniently)."""
    errors = json_type_errors(KINDS[kind_name], entry)
    if errors:
        raise EntryErrors(errors)


def safety_json(record):
    return {"id": record.id, "kind": record.kind, "version": record.version, "author": record.author,
            "occurred_at": record.occurred_at.isoformat() + "Z", "recorded_at": record.recorded_at.isoformat() + "Z",
            "late": record.late_by is not None, "values": record.values()}


def verdict_json(verdict):
    """The 4D verdict as the API promises it; `warnings` repeats each finding as one sentence."""
    lang = current_language()
    findings = [{"item": f.item, "d": f.d, "severity": f.severity, "message": f.message(lang),
                 "value": f.value, "limit": f.limit, "action": f.action(lang)} for f in verdict.findings]
    return {"verdict": verdict.verdict, "checklist_version": verdict.version, "findings": findings,
            "warnings": [f"{f['message']} — {f['action']}" for f in findings]}


@bp.post(f"/safety/{ANY_KIND}")
@allow("manager")
def create_safety_record(kind_name):
    """Store one food-safety log entry (a thermometer, a scale or a script may post it)."""
    if kind_name not in KINDS:
        return error(f"Unknown log kind {kind_name[:40]!r}; use one of {', '.join(KINDS)}.", "kind", 404)
    payload, failure = read_body("entry")
    if failure:
        return failure
    try:
        typed(kind_name, payload)
        record, verdict = service.create(kind_name, payload, actor())
    except EntryErrors as e:
        return entry_errors(e)
    return jsonify(dict(safety_json(record), **verdict_json(verdict))), 201


@bp.post(f"/safety/{ANY_KIND}/check")
@allow("manager")
def check_safety_entry(kind_name):
    """Judge an entry as a save would (validation and the 4D checklist) and store nothing: the
    form's "reject?" question before a failing delivery is accepted."""
    if kind_name not in KINDS:
        return error(f"Unknown log kind {kind_name[:40]!r}; use one of {', '.join(KINDS)}.", "kind", 404)
    payload, failure = read_body("entry")
    if failure:
        return failure
    try:
        typed(kind_name, payload)  # judged as strictly as a save
        verdict, clean = service.judge_entry(kind_name, payload)
    except EntryErrors as e:
        return entry_errors(e)
    return jsonify(dict(verdict_json(verdict), kind=kind_name, stored=False,
                        ask_reject=service.should_ask_reject(kind_name, clean, verdict))), 200


@bp.get("/safety/stock")
@allow("manager", "union")
def stock():
    """Stock on hand, lot by lot, with its status (usable, near_expiry, expired, on_hold)."""
    today = clock().today()
    return jsonify(lots=[{"item": lot.item, "quantity": lot.remaining, "unit": lot.qty_unit,
                          "use_by": lot.use_by.isoformat() if lot.use_by else None,
                          "status": lot.status(today), "record_id": lot.record_id}
                         for lot in service.lots_on_hand()])


@bp.post(f"/safety/{ANY_KIND}/<int:record_id>/amendments")
@allow("manager")
def amend_safety_record(kind_name, record_id):
    """Correct an entry: {"entry": {...the whole entry as it should read...}, "reason": "..."}."""
    record = service.find(kind_name, record_id)
    if record is None:
        return error("There is no such entry.", None, 404)
    payload, failure = read_body("entry")
    if failure:
        return failure
    try:
        if not isinstance(payload.get("entry"), dict):
            raise EntryErrors({"entry": "entry must be the whole entry as a JSON object"})
        typed(kind_name, payload["entry"])
        amendment, verdict = service.amend(record, payload["entry"], payload.get("reason"), actor())
    except EntryErrors as e:
        return entry_errors(e)
    return jsonify(dict(safety_json(record), amendment=amendment.version, **verdict_json(verdict))), 201


@bp.get(f"/safety/{ANY_KIND}")
@allow("manager", "union", "admin")
def list_safety_records(kind_name):
    """Entries of one log, newest first (?from=&to= dates; default the last 30 days)."""
    if kind_name not in KINDS:
        return error(f"Unknown log kind {kind_name[:40]!r}.", "kind", 404)
    try:  # absent means the default; present (even empty) must be a date
        end = dt.date.fromisoformat(request.args.get("to", clock().today().isoformat()))
        start = dt.date.fromisoformat(request.args.get("from", (end - dt.timedelta(days=30)).isoformat()))
    except (ValueError, OverflowError):
        return error("from and to must be dates like 2026-11-26.", "from")
    return jsonify(kind=kind_name, records=[safety_json(r) for r in service.between(kind_name, start, end)])


# --- registers: a script learns the ids the log entries name, and adds to them ---------------

ANY_REGISTER = "<any(" + ", ".join(registers.REGISTERS) + "):register_name>"


def register_errors(e):
    field, message = next(iter(e.errors.items()))
    return error(message, field, 422, errors=e.errors)


@bp.get(f"/safety/registers/{ANY_REGISTER}")
@allow("manager", "union", "admin")
def list_register(register_name):
    """Every entry of a register (suppliers, units or staff), in or out of use, by name."""
    return jsonify(items=[registers.as_json(register_name, row) for row in registers.entries(register_name)])


@bp.post(f"/safety/registers/{ANY_REGISTER}")
@allow("manager")
def add_to_register(register_name):
    """Add an entry to a register, validated and audited as the back-office form does."""
    payload, failure = read_body("entry")
    if failure:
        return failure
    try:
        with in_english():
            row = registers.add(register_name, payload, actor(), strict=True)
    except registers.RegisterErrors as e:
        return register_errors(e)
    return jsonify(registers.as_json(register_name, row)), 201


@bp.patch(f"/safety/registers/{ANY_REGISTER}/<int:entry_id>")
@allow("manager")
def change_register_entry(register_name, entry_id):
    """Take an entry out of use (`{"active": false}`) or bring it back (`true`), audited as the
    back-office form does; records that name it keep their link."""
    row = registers.find(register_name, entry_id)
    if row is None:
        return error("There is no such entry in this register.", "entry_id", 404)
    payload, failure = read_body("change")
    if failure:
        return failure
    try:
        row = registers.change(register_name, row, payload, actor())
    except registers.RegisterErrors as e:
        return register_errors(e)
    return jsonify(registers.as_json(register_name, row)), 200


# One rule for both methods: with two, an id beyond the converter's range answers POST with a
# 405 (werkzeug reports the other rule's method) instead of the 404 a bad id deserves.
@bp.route("/safety/registers/staff/<int:staff_id>/trainings", methods=["GET", "POST"])
@allow("manager", "union", "admin")
def staff_trainings(staff_id):
    """A staff member's trainings, newest first (GET; union and admin read), or record one
    (POST, managers: topic, day, trainer)."""
    person = Staff.get_or_none(Staff.id == staff_id)
    if request.method == "POST" and "manager" not in current_roles():
        return error("Only a manager may record trainings.", None, 403)
    if person is None:
        return error("There is no such staff member.", "staff_id", 404)
    if request.method == "GET":
        return jsonify(items=[registers.as_json("trainings", t) for t in registers.trainings_of(person)])
    payload, failure = read_body("training")
    if failure:
        return failure
    try:
        with in_english():
            training = registers.add_training(person, payload, actor(), strict=True)
    except registers.RegisterErrors as e:
        return register_errors(e)
    return jsonify(registers.as_json("trainings", training)), 201
