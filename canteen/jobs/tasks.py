"""Scheduled work as plain functions of an explicit `now`, each run claimed once per slot.

Every job run first inserts JobRun(job, slot); the unique key lets exactly one scheduler (or
one of two started by mistake) do the work for that slot. Jobs take `now` (naive local time)
so tests drive them with any clock instead of sleeping.
"""
import datetime as dt
import logging
import os
import socket

from ..clock import clock
from ..i18n import in_each_language
from ..models import Dish, database, utcnow
from ..safety.models import (
    CorrectiveAction,
    InspectionRound,
    SafetyRecord,
    Staff,
    StockLot,
    StorageUnit,
    Supplier,
)
from ..safety.schema import KINDS
from ..vocabulary import MEALS
from .models import Alert, ExpectedLog, JobRun

log = logging.getLogger(__name__)


def process_identity(pid):
    """host:pid:start time of a process (the start time tells a reused pid apart); None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            started = f.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        started = "?"  # no /proc: the pid alone
    return f"{socket.gethostname()}:{pid}:{started}"


_owner = {}


def owner():
    """This process's name in the claims it holds (made per pid: a forked child is another)."""
    pid = os.getpid()
    if pid not in _owner:
        _owner[pid] = process_identity(pid)
    return _owner[pid]


def owner_is_gone(owner):
    """True when `owner` is a process of this host that no longer runs. Another host's
    claim is never judged from here: it waits for the lease."""
    host, _sep, rest = owner.partition(":")
    pid, _sep, _started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return process_identity(int(pid)) != owner


def claim(job, slot, now=None, attempts=1):
    """True for exactly one caller per (job, slot), however many schedulers race for it.
    A claim still "running" whose scheduler was killed (its process is gone, or it is older
    than CANTEEN_JOB_LEASE_MINUTES) is taken over by exactly one caller: the slot runs again
    once, never twice at the same time. A slot that failed is claimed again, by one caller,
    while it has had fewer than `attempts` tries."""
    from flask import current_app

    now = now or utcnow()
    me = owner()
    inserted = (JobRun.insert(job=job, slot=slot, started_at=now, owner=me)
                .on_conflict_ignore().as_rowcount().execute())
    if inserted == 1:
        return True
    held = JobRun.get_or_none((JobRun.job == job) & (JobRun.slot == slot))
    if held is not None and held.outcome == "failed" and held.attempts < attempts:
        retried = (JobRun.update(owner=me, started_at=now, finished_at=None, outcome="running",
                                 attempts=held.attempts + 1)
                   .where((JobRun.id == held.id) & (JobRun.outcome == "failed")
                          & (JobRun.attempts == held.attempts))
                   .execute())
        if retried == 1:
            log.warning("job %s %s: attempt %d after a failure", job, slot, held.attempts + 1)
        return retried == 1
    if held is None or held.outcome != "running" or held.owner == me:
        return False
    lease = dt.timedelta(minutes=current_app.config["JOB_LEASE_MINUTES"])
    if not (owner_is_gone(held.owner) or held.started_at < now - lease):
        return False
    taken = (JobRun.update(owner=me, started_at=now, detail=f"taken over from {held.owner or '?'}")
             .where((JobRun.id == held.id) & (JobRun.outcome == "running") & (JobRun.owner == held.owner))
             .execute())
    if taken == 1:  # said only by the one that did: two schedulers may both find the claim stale
        log.warning("job %s %s: taking over the claim of %s (started %s)", job, slot, held.owner or "?",
                    held.started_at)
    return taken == 1


def finish(job, slot, outcome, detail=""):
    (JobRun.update(finished_at=utcnow(), outcome=outcome, detail=str(detail)[:2000])
     .where((JobRun.job == job) & (JobRun.slot == slot)).execute())


def failed(job, slot, problem):
    """Record a failed run and tell the administrator; the database itself may be what failed
    (full disk), so each write is tried on its own and the log keeps the rest."""
    for write in (lambda: finish(job, slot, "failed", repr(problem)),
                  lambda: raise_alert(failure_key(job, slot), "job_failed", "admin",
                                      f"计划任务 {job}（{slot}）失败：{problem}",
                                      f"Scheduled job {job} ({slot}) failed: {problem}")):
        try:
            write()
        except Exception:
            log.exception("could not record the failure of %s %s", job, slot)


def raise_alert(key, kind, role, zh, en):
    """Insert the alert unless it exists; True when this call raised it."""
    return (Alert.insert(key=key, kind=kind, role=role, message_zh=zh, message_en=en, created_at=utcnow())
            .on_conflict_ignore().as_rowcount().execute()) == 1


def expected_slots(now):
    """Every slot the active schedules expect on `now`'s day, as (expected log, due time,
    state): "done" (an entry belongs to it), "missing" (its grace has passed without one) or
    "due" (still to come). Local times."""
    out = []
    day = now.date()
    early = dt.timedelta(hours=2)  # a reading up to 2 h before its time counts for it
    for expected in ExpectedLog.select().where(ExpectedLog.active):
        if expected.kind == "round":  # a 4D inspection round of any area
            logged = [clock().to_local(r.created_at) for r in InspectionRound.select().where(InspectionRound.day == day)]
        else:
            logged = [clock().to_local(r.occurred_at) for r in SafetyRecord.select().where(
                (SafetyRecord.kind == expected.kind) & (SafetyRecord.day == day))
                if expected.unit is None or r.values().get("unit") == expected.unit]
        slots = sorted(expected.slots(day))
        for i, due in enumerate(slots):
            # each entry belongs to one slot: from 2 h before it until 2 h before the next
            until = slots[i + 1] - early if i + 1 < len(slots) else dt.datetime.combine(day, dt.time.max)
            if any(due - early <= when < until for when in logged):
                state = "done"
            elif due + dt.timedelta(minutes=expected.grace_minutes) > now:
                state = "due"
            else:
                state = "missing"
            out.append((expected, due, state))
    return out


def missed_logs(now):
    """Raise one alert per expected entry whose time plus grace has passed unlogged, and
    resolve alerts whose entry has since been logged (late). Returns (raised, resolved)."""
    raised = resolved = 0
    for expected, due, state in expected_slots(now):
        if state == "due" or due + dt.timedelta(minutes=expected.grace_minutes) > now:
            continue
        key = f"missed:{expected.id}:{due:%Y-%m-%dT%H:%M}"
        if state == "done":
            resolved += (Alert.update(resolved_at=utcnow(), resolved_by="late entry")
                         .where((Alert.key == key) & Alert.resolved_at.is_null()).execute())
            continue
        unit = StorageUnit.get_or_none(StorageUnit.id == expected.unit) if expected.unit else None
        label = KINDS[expected.kind] if expected.kind in KINDS else None
        name_zh = label.zh if label else "4D 巡查"
        name_en = label.en if label else "4D inspection round"
        where = f"{unit.name} " if unit else ""
        raised += raise_alert(key, "missed_log", "manager",
                              f"{where}{name_zh}未按时记录（应于 {due:%H:%M}）",
                              f"{where}{name_en} not logged (due {due:%H:%M})")
    return raised, resolved


def run(job, slot, fn, *args, attempts=1):
    """Claim the slot, run `fn`, record the outcome; None when another run had the slot.
    With `attempts` > 1 a failed slot is run again by later calls, up to that many tries; the
    alert its failure raised is resolved when a later try succeeds."""
    with database.connection_context():
        if not claim(job, slot, attempts=attempts):
            return None
        try:
            result = fn(*args)
        except Exception as e:  # the scheduler keeps going; the failure is recorded and shown
            failed(job, slot, e)
            raise
        finish(job, slot, "ok", result)
        (Alert.update(resolved_at=utcnow(), resolved_by="a later attempt succeeded")
         .where((Alert.key == failure_key(job, slot)) & Alert.resolved_at.is_null()).execute())
        return result


def failure_key(job, slot):
    return f"job:{job}:{slot}"


def meal_logs(now):
    """After each meal (plus MEAL_LOG_GRACE_MINUTES): tableware disinfected, a sample of every
    dish served. Alerts raised once, resolved when the entry arrives. Returns (raised, resolved)."""
    from flask import current_app


    grace = dt.timedelta(minutes=current_app.config["MEAL_LOG_GRACE_MINUTES"])
    raised = resolved = 0
    for day in (now.date() - dt.timedelta(days=1), now.date()):
        done = [(r.kind, r.values()) for r in SafetyRecord.select().where(
            SafetyRecord.kind.in_(["tableware", "sample"]) & (SafetyRecord.day == day))]
        for window in clock().windows:
            _start, end = window.occurrence(day)
            if end + grace > now:
                continue
            served = list(Dish.served_on(day, window.name))
            if not served:
                continue
            meal = in_each_language(lambda name=window.name: str(MEALS.get(name, name)))
            expected = [(f"tableware:{day}:{window.name}", "tableware",
                         any(k == "tableware" and v.get("meal") == window.name for k, v in done),
                         f"{day} {meal['zh_CN']}：餐用具消毒未记录",
                         f"{day} {meal['en']}: tableware disinfection not logged")]
            for dish in served:
                expected.append((f"sample:{day}:{window.name}:{dish.id}", "sample",
                                 any(k == "sample" and v.get("meal") == window.name and v.get("dish") == dish.id
                                     for k, v in done),
                                 f"{day} {meal['zh_CN']}：{dish.name_zh} 未留样",
                                 f"{day} {meal['en']}: no sample of {dish.name_en or dish.name_zh}"))
            for key, kind, logged, zh, en in expected:
                if logged:
                    resolved += (Alert.update(resolved_at=utcnow(), resolved_by="late entry")
                                 .where((Alert.key == key) & Alert.resolved_at.is_null()).execute())
                else:
                    raised += raise_alert(key, "missed_log", "manager", zh, en)
    return raised, resolved


def expiry_warnings(now):
    """Stock near or past use-by, licences and health certificates expiring within
    EXPIRY_HORIZON_DAYS, samples whose 48 h are over. One alert per thing per day."""
    from flask import current_app


    today = now.date()
    horizon = today + dt.timedelta(days=current_app.config["EXPIRY_HORIZON_DAYS"])
    raised = 0
    for lot in StockLot.select().where((StockLot.remaining > 0) & StockLot.use_by.is_null(False)
                                       & (StockLot.use_by <= today + dt.timedelta(days=2))):
        past = lot.use_by < today
        raised += raise_alert(f"stock:{lot.id}:{today}", "expiry", "manager",
                              f"库存 {lot.item} {'已过期' if past else '临期'}（保质期至 {lot.use_by}）",
                              f"Stock {lot.item} {'is past' if past else 'nears'} its use-by date ({lot.use_by})")
    for supplier in Supplier.select().where(Supplier.active & Supplier.licence_expiry.is_null(False)
                                            & (Supplier.licence_expiry <= horizon)):
        raised += raise_alert(f"licence:{supplier.id}:{supplier.licence_expiry}", "expiry", "manager",
                              f"供应商 {supplier.name} 许可证到期：{supplier.licence_expiry}",
                              f"Supplier {supplier.name}: licence expires {supplier.licence_expiry}")
    for person in Staff.select().where(Staff.active & Staff.health_cert_expiry.is_null(False)
                                       & (Staff.health_cert_expiry <= horizon)):
        raised += raise_alert(f"health:{person.id}:{person.health_cert_expiry}", "expiry", "manager",
                              f"{person.name} 健康证到期：{person.health_cert_expiry}",
                              f"{person.name}: health certificate expires {person.health_cert_expiry}")
    for record in SafetyRecord.select().where((SafetyRecord.kind == "sample")
                                              & (SafetyRecord.day >= today - dt.timedelta(days=7))):
        values = record.values()
        if values.get("discarded_at"):
            continue
        stored = dt.datetime.fromisoformat(values["stored_at"])
        if now - stored >= dt.timedelta(hours=48):
            raised += raise_alert(f"sample-due:{record.id}", "expiry", "manager",
                                  f"留样 #{record.id} 已满 48 小时，可以销毁并记录",
                                  f"Sample #{record.id} has been kept 48 h and may be discarded (record it)")
    return raised


def escalate_overdue(now):
    """Overdue corrective actions go up to the administrator, once per action."""

    raised = 0
    for action in CorrectiveAction.select().where((CorrectiveAction.status != "verified")
                                                  & (CorrectiveAction.due_at < utcnow())):
        raised += raise_alert(f"overdue:{action.id}", "escalation", "admin",
                              f"整改 #{action.id}（{action.item}）已超期，负责人 {action.owner}",
                              f"Corrective action #{action.id} ({action.item}) is overdue; owner {action.owner}")
    return raised
