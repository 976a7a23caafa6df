"""Storing food-safety entries: validation, append-only amendments, audit chain, stock.

Views and the JSON API both come through here, so a form and a thermometer posting JSON are
held to exactly the same rules.
"""
import datetime as dt
import json
import re
import secrets

import click
from flask import current_app
from flask.cli import with_appcontext
from peewee import fn

from ..audit import lock_chain, recorded_once
from ..audit import record as audit_record
from ..checklists import engine
from ..clock import clock
from ..db import lock_row, write_transaction
from ..models import Dish, utcnow
from .models import (
    DISPOSITIONS,
    CorrectiveAction,
    SafetyAmendment,
    SafetyRecord,
    SafetyVerdict,
    Staff,
    StockLot,
    StockUse,
    StorageUnit,
    Supplier,
    Training,
)
from .schema import KINDS, EntryErrors, validate

REGISTERS = {"supplier": Supplier, "unit": StorageUnit, "staff": Staff, "dish": Dish}
# How long records must be kept (food-safety.md: procurement 6 months past use-by and at
# least 2 years; every other log 2 years).
RETENTION = dt.timedelta(days=730)
PROCUREMENT_AFTER_USE_BY = dt.timedelta(days=183)
MAX_BACKFILL = dt.timedelta(days=366)  # a late entry, not a history rewrite


def lookup(kind, ident):
    model = REGISTERS[kind]
    return model.get_or_none(model.id == ident)


class RegisterContext:
    """What the 4D engine may look up: register rows and a person's training topics."""

    def ref(self, register, ident):
        return lookup(register, ident) if ident is not None else None

    def trainings(self, staff_id):
        return [t for (t,) in Training.select(Training.topic).where(Training.staff == staff_id).tuples()]

    def meal_windows(self, day, meal):
        """(start, end) local times of `meal` served on `day` — and on the day before, for a
        night meal that runs past midnight."""
        return [w.occurrence(d) for w in clock().windows if w.name == meal
                for d in (day, day - dt.timedelta(days=1))]


def checklist():
    return current_app.extensions["canteen_checklist"]


SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2}
RELEASING = ("used", "reworked")  # dispositions that make goods on hold usable again
REMOVING = ("discarded", "returned")


def judge_values(kind_name, values, day):
    """The 4D verdict on an entry, stored nowhere (the form's "reject?" question and
    POST /api/v1/safety/<kind>/check give the same judgement as a save)."""
    return engine.judge(kind_name, values, day, checklist(), RegisterContext())


def judge(record, values):
    """Judge this version of the entry now and store the verdict; a reading with critical or
    major findings gets one corrective action listing all of them (an open one is extended),
    and each critical finding alerts the manager, once per version. Runs inside the caller's
    transaction; returns (verdict, rows written)."""
    verdict = judge_values(record.kind, values, record.day)
    row = SafetyVerdict.create(record=record, record_version=record.version, checklist_version=verdict.version,
                               verdict=verdict.verdict, judged_at=utcnow(),
                               findings=json.dumps([f.as_dict() for f in verdict.findings], ensure_ascii=False,
                                                   default=str))
    written = [row]
    action = open_action(record, verdict.findings)
    if action is not None:
        written.append(action)
    alert_critical(record, verdict.findings)
    return verdict, written


def _owner(author):
    return author.split(":", 1)[1] if author.startswith("user:") else author


def open_action(record, findings, round_id=None, owner=None):
    """The one corrective action of a reading: opened for its critical and major findings,
    listing every finding; a later version's new findings join the open one."""
    hours = {"critical": current_app.config["ACTION_DUE_HOURS_CRITICAL"],
             "major": current_app.config["ACTION_DUE_HOURS_MAJOR"]}
    serious = sorted((f for f in findings if f.severity in hours), key=lambda f: SEVERITY_RANK[f.severity])
    if not serious:
        return None
    now = utcnow()
    listed = [f.as_dict() if hasattr(f, "as_dict") else dict(f) for f in findings]
    where = (CorrectiveAction.round_id == round_id) if record is None else (CorrectiveAction.record == record)
    action = CorrectiveAction.select().where(where & (CorrectiveAction.status != "verified")).first()
    top = serious[0]
    if action is None:
        return CorrectiveAction.create(record=record, record_version=record.version if record else None,
                                       round_id=round_id, item=top.item, d=top.d, severity=top.severity,
                                       finding=json.dumps(listed, ensure_ascii=False, default=str),
                                       owner=owner or _owner(record.author), status="open", opened_at=now,
                                       due_at=now + dt.timedelta(hours=hours[top.severity]))
    known = {f["item"] for f in action.findings()}
    added = [f for f in listed if f["item"] not in known]
    if not added and SEVERITY_RANK[top.severity] >= SEVERITY_RANK.get(action.severity, 9):
        return None
    action.finding = json.dumps(action.findings() + added, ensure_ascii=False, default=str)
    if SEVERITY_RANK[top.severity] < SEVERITY_RANK.get(action.severity, 9):
        action.item, action.d, action.severity = top.item, top.d, top.severity
        action.due_at = min(action.due_at, now + dt.timedelta(hours=hours[top.severity]))
    action.save()
    return action


def alert_critical(record, findings):
    """One alert for the manager per record version with critical findings (inbox and the
    delivery channels), raised in the save's own transaction."""
    from ..jobs.tasks import (
        raise_alert,  # jobs read safety's models; safety only raises alerts
    )

    critical = [f for f in findings if f.severity == "critical"]
    if not critical:
        return False
    kind = KINDS[record.kind]
    zh = "；".join(f"{f.message_zh}（实测 {_shown(f.value)}，限值 {_shown(f.limit)}）" for f in critical)
    en = "; ".join(f"{f.message_en} (seen {_shown(f.value)}, limit {_shown(f.limit)})" for f in critical)
    return raise_alert(f"critical:{record.id}:{record.version}", "critical_finding", "manager",
                       f"{kind.zh} #{record.id} 严重问题：{zh}", f"{kind.en} #{record.id}: critical finding — {en}")


def _shown(value):
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:g}"
    return "—" if value is None else str(value)


def sync_lot(record, clean, verdict, author, now):
    """Stock follows the judgement: an accepted delivery is a lot (on hold while its verdict
    fails, until a disposition settles it); one no longer accepted leaves stock; an amended
    quantity or use-by updates the lot. Returns the rows written."""
    lot = StockLot.get_or_none(StockLot.record == record)
    if not clean.get("accepted"):
        if lot is None or lot.remaining <= 0:
            return []
        use = StockUse.create(lot=lot, quantity=lot.remaining, reason="rejected", author=author, at=now)
        lot.remaining, lot.on_hold = 0, False
        lot.save()
        return [lot, use]
    released = CorrectiveAction.select().where((CorrectiveAction.record == record)
                                               & CorrectiveAction.disposition.in_(RELEASING)).exists()
    on_hold = verdict.verdict == "fail" and not released
    if lot is None:
        return [StockLot.create(record=record, item=clean["item"], category=clean["category"],
                                quantity=clean["quantity"], qty_unit=clean["qty_unit"],
                                remaining=clean["quantity"], use_by=clean.get("use_by"), received_at=now,
                                on_hold=on_hold)]
    taken = lot.quantity - lot.remaining
    lot.item, lot.category, lot.qty_unit = clean["item"], clean["category"], clean["qty_unit"]
    lot.use_by, lot.quantity = clean.get("use_by"), clean["quantity"]
    lot.remaining = max(0.0, clean["quantity"] - taken)
    lot.on_hold = on_hold
    lot.save()
    return [lot]


def settle_stock(action, author, now):
    """A corrective action's disposition settles goods on hold: returned or discarded leaves
    stock, used (after re-inspection) or reworked releases it. Returns the rows written."""
    if action.record_id is None:
        return []
    lot = StockLot.get_or_none(StockLot.record == action.record_id)
    if lot is None:
        return []
    written = [lot]
    if action.disposition in REMOVING and lot.remaining > 0:
        written.append(StockUse.create(lot=lot, quantity=lot.remaining, reason=action.disposition,
                                       author=author, at=now))
        lot.remaining = 0
    lot.on_hold = False
    lot.save()
    return written


def lots_on_hand():
    """Lots with something left, expired and near-expiry first."""
    return list(StockLot.select().where(StockLot.remaining > 0)
                .order_by(StockLot.use_by.is_null(), StockLot.use_by, StockLot.id))


def occurred_at_from(value, now_utc):
    """When it happened (naive UTC), from an optional ISO time; None means now."""
    if value in (None, ""):
        return now_utc
    try:
        when = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = clock().local_to_utc(when)
        else:
            when = when.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise EntryErrors({"occurred_at": "occurred_at must be a time like 2026-11-26T08:30"}) from None
    if when > now_utc + dt.timedelta(minutes=10):
        raise EntryErrors({"occurred_at": "occurred_at cannot be in the future"})
    if when < now_utc - MAX_BACKFILL:
        raise EntryErrors({"occurred_at": "occurred_at is more than a year ago"})
    return when


def check(kind_name, data, lang="en", say=None):
    """The clean entry, or EntryErrors naming each field at fault."""
    kwargs = {"lang": lang}
    if say is not None:
        kwargs["say"] = say
    return validate(KINDS[kind_name], data, lookup, clock().now(), tz=clock().tz, **kwargs)


def judge_entry(kind_name, data, lang="en", say=None):
    """(verdict, clean entry) for an entry not stored: validated and judged as a save would
    be, on the day it happened. Raises EntryErrors."""
    data = dict(data) if isinstance(data, dict) else data
    occurred = occurred_at_from(data.pop("occurred_at", None) if isinstance(data, dict) else None, utcnow())
    clean = check(kind_name, data, lang, say)
    return judge_values(kind_name, clean, clock().to_local(occurred).date()), clean


def should_ask_reject(kind_name, clean, verdict):
    """A delivery about to be accepted although it fails: ask "reject?" before saving."""
    return kind_name == "procurement" and bool(clean.get("accepted")) and verdict.verdict == "fail"


def find(kind_name, record_id):
    """One entry of one log, or None."""
    return SafetyRecord.get_or_none((SafetyRecord.id == record_id) & (SafetyRecord.kind == kind_name))


def between(kind_name, start, end, limit=1000):
    """Entries of one log on service days `start`..`end`, newest first."""
    return (SafetyRecord.select()
            .where((SafetyRecord.kind == kind_name) & SafetyRecord.day.between(start, end))
            .order_by(SafetyRecord.occurred_at.desc())
            .limit(limit))


def prepare(kind_name, data, lang="en", say=None):
    """(when it happened, the clean entry) for an entry about to be stored. Raises EntryErrors."""
    data = dict(data) if isinstance(data, dict) else data
    occurred = occurred_at_from(data.pop("occurred_at", None) if isinstance(data, dict) else None, utcnow())
    return occurred, check(kind_name, data, lang, say)


def store(kind_name, occurred, clean, author, once=None):
    """Store and judge one prepared entry, inside the caller's transaction; (record, verdict)."""
    now = utcnow()
    text = json.dumps(clean, ensure_ascii=False, sort_keys=True)
    record = SafetyRecord.create(kind=kind_name, data=text, current=text, recorded_at=now,
                                 occurred_at=occurred, author=author,
                                 day=clock().to_local(occurred).date())
    verdict, written = judge(record, clean)
    if kind_name == "procurement":
        written += sync_lot(record, clean, verdict, author, now)
    audit_record(author, f"safety.{kind_name}.create", "safety_record", record.id, rows=[record, *written],
                 entry=clean, occurred_at=occurred.isoformat(), late=record.late_by is not None,
                 verdict=verdict.verdict, checklist=verdict.version, **({"once": once} if once else {}))
    return record, verdict


def create(kind_name, data, author, lang="en", say=None, once=None):
    """Validate, store and judge one entry; returns (record, verdict). Raises EntryErrors, or
    BatchSaved when the form with the one-time token `once` was stored already."""
    occurred, clean = prepare(kind_name, data, lang, say)
    with write_transaction():
        refuse_again(kind_name, once)
        return store(kind_name, occurred, clean, author, once)


class BatchErrors(ValueError):
    """{position in the batch: {field: message}} — nothing of the batch was stored."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__(f"{len(errors)} entries have errors")


class BatchSaved(Exception):
    """This form (the same page's Save, sent twice by a double tap) was stored already: its
    first record's id."""

    def __init__(self, record_id):
        super().__init__(record_id)
        self.record_id = record_id


BATCH_WINDOW = dt.timedelta(days=1)  # a page's Save arriving again later than this is a new save


def new_form_token():
    return secrets.token_hex(16)


def form_token(form):
    """The page's one-time token if the form carries a well-formed one, else None."""
    token = form.get("once") or ""  # not "batch": procurement and cooking have a batch (批号) field
    return token if re.fullmatch(r"[0-9a-f]{32}", token) else None


def refuse_again(kind_name, once):
    """Inside the write transaction: raise BatchSaved if the form with this token was stored."""
    if once:
        lock_chain()  # a second copy of the same Save waits here, then finds the first one's records
        first = recorded_once(f"safety.{kind_name}.create", "once", once, utcnow() - BATCH_WINDOW)
        if first is not None:
            raise BatchSaved(int(first.entity_id))


class CheckedMeanwhile(ValueError):
    """Some people of a shift's page got an entry of the same day after the page was opened
    (another tab, another tablet): `records` are those entries. Nothing was stored."""

    def __init__(self, records):
        super().__init__(records)
        self.records = records


def newest_id(kind_name):
    """The id of the newest entry of this log (0 for none): a page remembers what it has seen."""
    return SafetyRecord.select(fn.MAX(SafetyRecord.id)).where(SafetyRecord.kind == kind_name).scalar() or 0


def entered_since(kind_name, prepared, seen):
    """Entries of this log stored after entry `seen` for the same person on the same day as one
    of `prepared` [(occurred, clean)]."""
    wanted = {(clock().to_local(occurred).date(), clean.get("staff")) for occurred, clean in prepared}
    rows = SafetyRecord.select().where((SafetyRecord.kind == kind_name) & (SafetyRecord.id > seen)
                                       & SafetyRecord.day.in_(sorted({day for day, _ in wanted})))
    return [r for r in rows if (r.day, r.values().get("staff")) in wanted]


def create_many(kind_name, entries, author, lang="en", say=None, once=None, seen=None):
    """Several entries of one log (a shift's health checks), all or nothing: each validated,
    judged and audited as create() does, stored in one transaction. Returns [(record, verdict)];
    raises BatchErrors naming every entry at fault before anything is written. `batch` is the
    page's one-time token (hex): the same page sent again raises BatchSaved and stores nothing.
    `seen`: the newest entry the page knew of; a person entered since (the same page open in two
    tabs or on two tablets) raises CheckedMeanwhile and stores nothing."""
    prepared, errors = [], {}
    for position, data in enumerate(entries):
        try:
            prepared.append(prepare(kind_name, data, lang, say))
        except EntryErrors as e:
            errors[position] = e.errors
    if errors:
        raise BatchErrors(errors)
    with write_transaction():
        refuse_again(kind_name, once)
        meanwhile = entered_since(kind_name, prepared, seen) if seen is not None else []
        if meanwhile:
            raise CheckedMeanwhile(meanwhile)
        return [store(kind_name, occurred, clean, author, once) for occurred, clean in prepared]


REMEMBERED = ("supplier", "unit", "staff")  # who checked, from whom, where: the same as last time, mostly
NOT_REMEMBERED = {("health_check", "staff"), ("sample", "discarded_by")}  # a different person each time


def remembered(kind_name, author):
    """The register fields (supplier, storage unit, checker) of `author`'s last entry of this
    log, still active: the form starts from them."""
    last = (SafetyRecord.select().where((SafetyRecord.kind == kind_name) & (SafetyRecord.author == author))
            .order_by(SafetyRecord.id.desc()).first())
    if last is None:
        return {}
    values = last.values()
    kept = {}
    for f in KINDS[kind_name].fields:
        if f.type in REMEMBERED and (kind_name, f.name) not in NOT_REMEMBERED and values.get(f.name):
            row = lookup(f.type, values[f.name])
            if row is not None and row.active:
                kept[f.name] = values[f.name]
    return kept


# What an earlier entry of the same thing tells a new one: (the field naming the thing, the
# register it is grouped by, the fields it fills in) — never a measured value.
KNOWN_THINGS = {
    "procurement": ("item", "supplier", ("category", "qty_unit", "storage_class", "labelled_storage_temp")),
    "produce_wash": ("item", None, ("raw_eaten", "disinfectant")),
    "cooking": ("dish", None, ("holding",)),
}


def known_things(kind_name, limit=400):
    """{group id or "": {thing: {field: value last time}}} from the latest entries of the log:
    the form suggests a supplier's items and fills in how a known item came (or was washed,
    or a dish was held)."""
    if kind_name not in KNOWN_THINGS:
        return {}
    key, group, fills = KNOWN_THINGS[kind_name]
    known = {}
    for record in (SafetyRecord.select().where(SafetyRecord.kind == kind_name)
                   .order_by(SafetyRecord.id.desc()).limit(limit)):
        values = record.values()
        things = known.setdefault(str(values.get(group, "")) if group else "", {})
        if values.get(key) is not None and str(values[key]) not in things:
            things[str(values[key])] = {k: values[k] for k in fills if k in values}
    return known


def _minute(when):
    return when.replace(second=0, microsecond=0)


def amend(record, data, reason, author, lang="en", say=None):
    """A correction: the whole entry as it should read, with a reason. The original and every
    earlier version stay; the new version is judged afresh. Returns (amendment, verdict)."""
    if reason is not None and not isinstance(reason, str):
        raise EntryErrors({"reason": "The reason must be text"})
    reason = " ".join("".join(c for c in (reason or "") if c.isprintable() or c == " ").split())
    if not reason:
        raise EntryErrors({"reason": "Give the reason for the correction"})
    if len(reason) > 300:
        raise EntryErrors({"reason": "The reason may have at most 300 characters"})
    data = dict(data) if isinstance(data, dict) else data
    given = data.pop("occurred_at", None) if isinstance(data, dict) else None
    clean = check(record.kind, data, lang, say)
    # the event's time moved (to the minute, as forms show it); left out or the same: kept
    moved = occurred_at_from(given, utcnow()) if given not in (None, "") else None
    if moved is not None and _minute(moved) == _minute(record.occurred_at):
        moved = None
    if moved is not None and _minute(moved) > _minute(record.recorded_at):  # forms give minutes
        raise EntryErrors({"occurred_at": "occurred_at cannot be after the entry was recorded"})
    text = json.dumps(clean, ensure_ascii=False, sort_keys=True)
    with write_transaction():
        # two corrections sent at once (a double tap, two tablets) take turns, each judged on the
        # version the other left, instead of both taking the next version number (a 500)
        lock_row(SafetyRecord, record.id)
        fresh = SafetyRecord.get_by_id(record.id)
        record.current, record.version = fresh.current, fresh.version
        record.occurred_at, record.day = fresh.occurred_at, fresh.day
        before = record.values()
        changed = sorted(k for k in set(before) | set(clean) if before.get(k) != clean.get(k))
        if moved is not None and _minute(moved) == _minute(record.occurred_at):
            moved = None
        if not changed and moved is None:
            raise EntryErrors({"reason": "Nothing was changed"})
        was = record.occurred_at
        after = {k: clean.get(k) for k in changed}
        if moved is not None:
            changed.append("occurred_at")
            before["occurred_at"], after["occurred_at"] = was.isoformat(), moved.isoformat()
        version = record.version + 1
        amendment = SafetyAmendment.create(record=record, version=version, data=text,
                                           changed=json.dumps(changed), reason=reason, author=author,
                                           at=utcnow(), occurred_before=was if moved else None,
                                           occurred_after=moved)
        when = {"occurred_at": moved, "day": clock().to_local(moved).date()} if moved else {}
        (SafetyRecord.update(current=text, version=version, **when)
         .where((SafetyRecord.id == record.id) & (SafetyRecord.version == record.version))
         .execute())
        record.current, record.version = text, version
        if moved:
            record.occurred_at, record.day = when["occurred_at"], when["day"]
        verdict, written = judge(record, clean)
        if record.kind == "procurement":
            written += sync_lot(record, clean, verdict, author, utcnow())
        audit_record(author, f"safety.{record.kind}.amend", "safety_record", record.id,
                     rows=[record, amendment, *written],
                     version=version, reason=reason, before={k: before.get(k) for k in changed},
                     after=after, verdict=verdict.verdict)
    return amendment, verdict


def latest_verdict(record):
    return (SafetyVerdict.select().where(SafetyVerdict.record == record)
            .order_by(SafetyVerdict.record_version.desc()).first())


def keep_until(record):
    """The first day this record may be purged under the retention rules."""
    base = record.recorded_at.date() + RETENTION
    if record.kind == "procurement":
        use_by = record.values().get("use_by")
        if use_by:
            return max(base, dt.date.fromisoformat(use_by) + PROCUREMENT_AFTER_USE_BY)
    return base


def purgeable(today):
    """Records whose retention has run out (none younger than the rules allow)."""
    return [r for r in SafetyRecord.select().where(SafetyRecord.recorded_at < utcnow() - RETENTION)
            if keep_until(r) < today]


@click.command("purge-safety")
@click.option("--yes", is_flag=True, help="Delete; without it, only list what could go.")
@with_appcontext
def purge_command(yes):
    """Remove food-safety records past their retention period (2 years; procurement also
    6 months past use-by). Younger records are never touched."""
    old = purgeable(clock().today())
    for r in old:
        click.echo(f"{r.kind} #{r.id} recorded {r.recorded_at:%Y-%m-%d}, kept until {keep_until(r)}")
    if not yes:
        click.echo(f"{len(old)} record(s) could be purged; run again with --yes to delete them.")
        return
    with write_transaction():
        ids = [r.id for r in old]
        removed, lots = [], []
        if ids:
            lots = list(StockLot.select().where(StockLot.record.in_(ids)))
            StockLot.update(record=None).where(StockLot.record.in_(ids)).execute()
            for model in (CorrectiveAction, SafetyVerdict, SafetyAmendment):
                removed += [(model, i) for (i,) in model.select(model.id).where(model.record.in_(ids)).tuples()]
                model.delete().where(model.record.in_(ids)).execute()
            SafetyRecord.delete().where(SafetyRecord.id.in_(ids)).execute()
            removed += [(SafetyRecord, i) for i in ids]
        audit_record("cli", "safety.purge", "safety_record", None, rows=lots, removed=removed, ids=ids)
    click.echo(f"Purged {len(old)} record(s).")


# --- corrective actions and stock draw-downs --------------------------------------------------

def temperature_items(action):
    """Checklist items of the action's findings that judge a temperature (a ℃ field)."""
    if action.record_id is None:
        return []
    kind = KINDS[action.record.kind]
    by_id = {i.id: i for i in checklist().items}
    units = {f.name: f.unit for f in kind.fields}
    return [by_id[f["item"]] for f in action.findings()
            if f["item"] in by_id and units.get(by_id[f["item"]].field) == "℃"]


def judge_recheck(action, value):
    """"pass" when a re-check reading of `value` ℃ clears every temperature finding of the
    action, judged by the same checklist as the reading; else "fail"."""
    items = temperature_items(action)
    values = action.record.values()
    for item in items:
        values[item.field] = value
    verdict = judge_values(action.record.kind, values, action.record.day)
    failing = {f.item for f in verdict.findings}
    return "fail" if any(i.id in failing for i in items) else "pass"


def still_at(item, status):
    """Whether the action still stands at `status` in the database (its row locked on PostgreSQL):
    two people recording the same step at once must not both write it, the later one silently
    replacing the earlier one's cause and action."""
    lock_row(CorrectiveAction, item.id)
    return CorrectiveAction.select(CorrectiveAction.status).where(CorrectiveAction.id == item.id).scalar() == status


def advance_action(item, form, me, say):
    """Move the action one step on; returns {field: error} when the step cannot be taken.
    `say(key)` gives the message for a refusal in the reader's language."""
    from ..office.forms import printable

    now = utcnow()
    text = lambda name: " ".join(printable(form.get(name) or "").split())[:1000]
    written = [item]
    start = item.status
    if item.status == "open":
        item.status, item.acknowledged_at, item.acknowledged_by = "acknowledged", now, me
    elif item.status == "acknowledged":
        errors = {}
        for name in ("cause", "action_taken"):
            if not text(name):
                errors[name] = say("required")
        if form.get("disposition") not in DISPOSITIONS:
            errors["disposition"] = say("disposition")
        if errors:
            return errors
        item.cause, item.action_taken, item.disposition = text("cause"), text("action_taken"), form["disposition"]
        item.status, item.acted_at, item.acted_by = "action_recorded", now, me
    elif item.status == "action_recorded":
        if me == item.acted_by:
            return {"verification": say("other_person")}
        if not text("verification"):
            return {"verification": say("required")}
        if temperature_items(item):
            try:
                value = float((form.get("recheck_value") or "").strip())
            except ValueError:
                return {"recheck_value": say("recheck")}
            if not -60 <= value <= 300:
                return {"recheck_value": say("recheck")}
            item.recheck_value, item.recheck_at, item.recheck_by = value, now, me
            item.recheck_verdict = judge_recheck(item, value)
            if item.recheck_verdict != "pass":
                with write_transaction():  # the failed re-check is recorded too
                    if not still_at(item, start):
                        return {"status": say("moved")}
                    item.save()
                    audit_record(me, "action.recheck", "corrective_action", item.id, rows=[item],
                                 recheck=value, verdict="fail")
                return {"recheck_value": say("recheck_failed")}
        item.verification, item.status, item.verified_at, item.verified_by = text("verification"), "verified", now, me
    else:
        return {"status": say("verified")}
    with write_transaction():
        if not still_at(item, start):
            return {"status": say("moved")}
        item.save()
        if item.status == "action_recorded":
            written += settle_stock(item, me, now)
        audit_record(me, f"action.{item.status}", "corrective_action", item.id, rows=written, item=item.item,
                     record=item.record_id, round=item.round_id, cause=item.cause, action_taken=item.action_taken,
                     disposition=item.disposition, verification=item.verification, recheck=item.recheck_value)
    return {}


class StockError(ValueError):
    pass


def take_from_lot(lot, quantity, reason, author):
    """Draw goods from a lot (used, discarded or returned). Goods on hold cannot be used."""
    if reason not in ("used", "discarded", "returned") or not 0 < quantity <= lot.remaining:
        raise StockError("quantity")
    if reason == "used" and lot.on_hold:
        raise StockError("on_hold")
    with write_transaction():
        # what is left is judged by the update itself: two taps at once (or two tablets) drew
        # a 10 kg lot down to -40 kg when each checked the lot it had read before
        taken = (StockLot.update(remaining=StockLot.remaining - quantity)
                 .where((StockLot.id == lot.id) & (StockLot.remaining >= quantity)).execute())
        if not taken:
            raise StockError("quantity")
        use = StockUse.create(lot=lot, quantity=quantity, reason=reason, author=author, at=utcnow())
        audit_record(author, "stock.use", "stock_lot", lot.id, rows=[lot, use], quantity=quantity, reason=reason)
    return use
