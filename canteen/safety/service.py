"""Storing food-safety entries: validation, append-only amendments, audit chain, stock.

Views and the JSON API both come through here, so a form and a thermometer posting JSON are
held to exactly the same rules.
"""
import datetime as dt
import json

import click
from flask import current_app
from flask.cli import with_appcontext

from ..audit import record as audit_record
from ..checklists import engine
from ..clock import clock
from ..db import write_transaction
from ..models import Dish, utcnow
from .models import (
    CorrectiveAction,
    SafetyAmendment,
    SafetyRecord,
    SafetyVerdict,
    Staff,
    StockLot,
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


def checklist():
    return current_app.extensions["canteen_checklist"]


def judge(record, values):
    """Judge this version of the entry now, store the verdict, open corrective actions for
    critical and major findings. Runs inside the caller's transaction."""
    verdict = engine.judge(record.kind, values, record.day, checklist(), RegisterContext())
    SafetyVerdict.create(record=record, record_version=record.version, checklist_version=verdict.version,
                         verdict=verdict.verdict, judged_at=utcnow(),
                         findings=json.dumps([f.as_dict() for f in verdict.findings], ensure_ascii=False,
                                             default=str))
    hours = {"critical": current_app.config["ACTION_DUE_HOURS_CRITICAL"],
             "major": current_app.config["ACTION_DUE_HOURS_MAJOR"]}
    owner = record.author.split(":", 1)[1] if record.author.startswith("user:") else record.author
    now = utcnow()
    for finding in verdict.findings:
        if finding.severity not in hours:
            continue
        already = CorrectiveAction.select().where(
            (CorrectiveAction.record == record) & (CorrectiveAction.item == finding.item)
            & (CorrectiveAction.status != "verified")).exists()
        if not already:
            CorrectiveAction.create(record=record, item=finding.item, d=finding.d, severity=finding.severity,
                                    finding=json.dumps(finding.as_dict(), ensure_ascii=False, default=str),
                                    owner=owner, status="open", opened_at=now,
                                    due_at=now + dt.timedelta(hours=hours[finding.severity]))
    return verdict


def occurred_at_from(value, now_utc):
    """When it happened (naive UTC), from an optional ISO time; None means now."""
    if value in (None, ""):
        return now_utc
    try:
        when = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = clock().local_to_utc(when)
        else:
            when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
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


def find(kind_name, record_id):
    """One entry of one log, or None."""
    return SafetyRecord.get_or_none((SafetyRecord.id == record_id) & (SafetyRecord.kind == kind_name))


def between(kind_name, start, end, limit=1000):
    """Entries of one log on service days `start`..`end`, newest first."""
    return (SafetyRecord.select()
            .where((SafetyRecord.kind == kind_name) & SafetyRecord.day.between(start, end))
            .order_by(SafetyRecord.occurred_at.desc())
            .limit(limit))


def create(kind_name, data, author, lang="en", say=None):
    """Validate, store and judge one entry; returns (record, verdict). Raises EntryErrors."""
    data = dict(data) if isinstance(data, dict) else data
    occurred = occurred_at_from(data.pop("occurred_at", None) if isinstance(data, dict) else None, utcnow())
    clean = check(kind_name, data, lang, say)
    now = utcnow()
    text = json.dumps(clean, ensure_ascii=False, sort_keys=True)
    with write_transaction():
        record = SafetyRecord.create(kind=kind_name, data=text, current=text, recorded_at=now,
                                     occurred_at=occurred, author=author,
                                     day=clock().to_local(occurred).date())
        if kind_name == "procurement" and clean.get("accepted"):
            StockLot.create(record=record, item=clean["item"], category=clean["category"],
                            quantity=clean["quantity"], qty_unit=clean["qty_unit"],
                            remaining=clean["quantity"], use_by=clean.get("use_by"), received_at=now)
        verdict = judge(record, clean)
        audit_record(author, f"safety.{kind_name}.create", "safety_record", record.id,
                     entry=clean, occurred_at=occurred.isoformat(), late=record.late_by is not None,
                     verdict=verdict.verdict, checklist=verdict.version)
    return record, verdict


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
    clean = check(record.kind, data, lang, say)
    before = record.values()
    changed = sorted(k for k in set(before) | set(clean) if before.get(k) != clean.get(k))
    if not changed:
        raise EntryErrors({"reason": "Nothing was changed"})
    text = json.dumps(clean, ensure_ascii=False, sort_keys=True)
    with write_transaction():
        version = record.version + 1
        amendment = SafetyAmendment.create(record=record, version=version, data=text,
                                           changed=json.dumps(changed), reason=reason, author=author,
                                           at=utcnow())
        (SafetyRecord.update(current=text, version=version)
         .where((SafetyRecord.id == record.id) & (SafetyRecord.version == record.version))
         .execute())
        record.current, record.version = text, version
        verdict = judge(record, clean)
        audit_record(author, f"safety.{record.kind}.amend", "safety_record", record.id,
                     version=version, reason=reason, before={k: before.get(k) for k in changed},
                     after={k: clean.get(k) for k in changed}, verdict=verdict.verdict)
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
        if ids:
            StockLot.update(record=None).where(StockLot.record.in_(ids)).execute()
            CorrectiveAction.delete().where(CorrectiveAction.record.in_(ids)).execute()
            SafetyVerdict.delete().where(SafetyVerdict.record.in_(ids)).execute()
            SafetyAmendment.delete().where(SafetyAmendment.record.in_(ids)).execute()
            SafetyRecord.delete().where(SafetyRecord.id.in_(ids)).execute()
        audit_record("cli", "safety.purge", "safety_record", None, ids=ids)
    click.echo(f"Purged {len(old)} record(s).")
