"""What the scheduler keeps: job runs claimed once per slot, the expected-log schedule, alerts."""
import datetime as dt

from peewee import BooleanField, CharField, DateTimeField, IntegerField, TextField

from ..models import BaseModel, utcnow


class JobRun(BaseModel):
    job = CharField(max_length=40)
    slot = CharField(max_length=40)
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    outcome = CharField(max_length=16, default="running")  # running | ok | failed
    detail = TextField(default="")
    # host:pid:process start of the scheduler running it ("" for claims made before 0017)
    owner = CharField(max_length=120, default="")
    # tries of this slot so far; a failed one may be tried again (scheduler.ATTEMPTS)
    attempts = IntegerField(default=1)

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
