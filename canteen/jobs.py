"""Scheduled work as plain functions of an explicit `now`, each run claimed once per slot.

Every job run first inserts JobRun(job, slot); the unique key lets exactly one scheduler (or
one of two started by mistake) do the work for that slot. Jobs take `now` (naive local time)
so tests drive them with any clock instead of sleeping.
"""
import datetime as dt

from peewee import BooleanField, CharField, DateTimeField, IntegerField, TextField

from .models import BaseModel, database, utcnow


class JobRun(BaseModel):
    job = CharField(max_length=40)
    slot = CharField(max_length=40)
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    outcome = CharField(max_length=16, default="running")  # running | ok | failed
    detail = TextField(default="")

    class Meta:
        indexes = ((("job", "slot"), True),)


class ExpectedLog(BaseModel):
    """What must be logged when: e.g. a storage reading of unit 3 at 08:00 and 16:00."""
    kind = CharField(max_length=24)
    unit = IntegerField(null=True)  # storage unit, for storage readings
    times = CharField(max_length=120)  # "08:00,16:00" local
    grace_minutes = IntegerField(default=30)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    def slots(self, day):
        """The local datetimes this schedule expects an entry on `day`."""
        out = []
        for text in self.times.split(","):
            hours, _sep, minutes = text.strip().partition(":")
            out.append(dt.datetime.combine(day, dt.time(int(hours), int(minutes or 0))))
        return out


class Alert(BaseModel):
    """Something a person must see; `key` makes raising the same alert twice impossible."""
    key = CharField(max_length=120, unique=True)
    kind = CharField(max_length=24)
    role = CharField(max_length=16)  # who sees it: manager | union | admin
    message_zh = TextField()
    message_en = TextField()
    created_at = DateTimeField(default=utcnow, index=True)
    acknowledged_at = DateTimeField(null=True)
    acknowledged_by = CharField(max_length=80, null=True)
    resolved_at = DateTimeField(null=True)
    resolved_by = CharField(max_length=80, null=True)

    def message(self, lang):
        return self.message_en if lang == "en" else self.message_zh


def claim(job, slot):
    """True for exactly one caller per (job, slot), however many schedulers race for it."""
    inserted = (JobRun.insert(job=job, slot=slot, started_at=utcnow())
                .on_conflict_ignore().as_rowcount().execute())
    return inserted == 1


def finish(job, slot, outcome, detail=""):
    (JobRun.update(finished_at=utcnow(), outcome=outcome, detail=str(detail)[:2000])
     .where((JobRun.job == job) & (JobRun.slot == slot)).execute())


def raise_alert(key, kind, role, zh, en):
    """Insert the alert unless it exists; True when this call raised it."""
    return (Alert.insert(key=key, kind=kind, role=role, message_zh=zh, message_en=en, created_at=utcnow())
            .on_conflict_ignore().as_rowcount().execute()) == 1


def missed_logs(now):
    """Raise one alert per expected entry whose time plus grace has passed unlogged, and
    resolve alerts whose entry has since been logged (late). Returns (raised, resolved)."""
    from .safety.models import SafetyRecord, StorageUnit

    from .clock import clock

    raised = resolved = 0
    day = now.date()
    early = dt.timedelta(hours=2)  # a reading up to 2 h before its time counts for it
    for expected in ExpectedLog.select().where(ExpectedLog.active):
        logged = [clock().to_local(r.occurred_at) for r in SafetyRecord.select().where(
            (SafetyRecord.kind == expected.kind) & (SafetyRecord.day == day))
            if expected.unit is None or r.values().get("unit") == expected.unit]
        slots = sorted(expected.slots(day))
        for i, due in enumerate(slots):
            if due + dt.timedelta(minutes=expected.grace_minutes) > now:
                continue
            key = f"missed:{expected.id}:{due:%Y-%m-%dT%H:%M}"
            # each entry belongs to one slot: from 2 h before it until 2 h before the next
            until = slots[i + 1] - early if i + 1 < len(slots) else dt.datetime.combine(day, dt.time.max)
            found = any(due - early <= when < until for when in logged)
            if found:
                resolved += (Alert.update(resolved_at=utcnow(), resolved_by="late entry")
                             .where((Alert.key == key) & Alert.resolved_at.is_null()).execute())
                continue
            unit = StorageUnit.get_or_none(StorageUnit.id == expected.unit) if expected.unit else None
            what_zh = f"{unit.name} " if unit else ""
            what_en = f"{unit.name} " if unit else ""
            raised += raise_alert(key, "missed_log", "manager",
                                  f"{what_zh}{expected.kind} 记录未按时完成（应于 {due:%H:%M}）",
                                  f"{what_en}{expected.kind} log missing (due {due:%H:%M})")
    return raised, resolved


def run(job, slot, fn, *args):
    """Claim the slot, run `fn`, record the outcome; None when another run had the slot."""
    with database.connection_context():
        if not claim(job, slot):
            return None
        try:
            result = fn(*args)
        except Exception as e:  # the scheduler keeps going; the failure is recorded and shown
            finish(job, slot, "failed", repr(e))
            raise
        finish(job, slot, "ok", result)
        return result
