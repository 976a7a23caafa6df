"""Food-safety registers (suppliers, storage units, staff, trainings), the log records with
their amendments, and stock on hand."""
import datetime as dt
import json

from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from .. import audit
from ..models import BaseModel, utcnow

UNIT_KINDS = ("dry", "cold_room", "fridge", "freezer", "sample_fridge")


class Staff(BaseModel):
    name = CharField(max_length=60)
    job = CharField(max_length=60, default="")
    health_cert_no = CharField(max_length=40, default="")
    health_cert_expiry = DateField(null=True)
    shift = CharField(max_length=16, null=True)  # a name from CANTEEN_SHIFTS; none: any shift
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class Training(BaseModel):
    staff = ForeignKeyField(Staff, backref="trainings", on_delete="CASCADE")
    topic = CharField(max_length=80)  # e.g. "tableware", "procurement", "4D 1D organisation"
    day = DateField()
    trainer = CharField(max_length=60, default="")
    created_at = DateTimeField(default=utcnow)


class Supplier(BaseModel):
    name = CharField(max_length=80, unique=True)
    licence_no = CharField(max_length=60, default="")
    licence_expiry = DateField(null=True)
    contact = CharField(max_length=80, default="")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class StorageUnit(BaseModel):
    name = CharField(max_length=60, unique=True)
    kind = CharField(max_length=16)  # one of UNIT_KINDS
    owner = ForeignKeyField(Staff, null=True, on_delete="SET NULL")  # 4D: who manages it
    checker = ForeignKeyField(Staff, null=True, on_delete="SET NULL", backref="checked_units")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class SafetyRecord(BaseModel):
    """One log entry. `data` is what was entered first and never changes; corrections are
    SafetyAmendment rows, and `current` is the latest version."""
    kind = CharField(max_length=24, index=True)
    data = TextField()  # JSON of the entry as first stored
    current = TextField()  # JSON of the latest version (original + amendments)
    version = IntegerField(default=1)
    recorded_at = DateTimeField(default=utcnow, index=True)  # server time of entry (UTC)
    occurred_at = DateTimeField(index=True)  # when it happened (UTC); earlier = late entry
    author = CharField(max_length=80)
    day = DateField(index=True)  # the canteen's local date it happened on

    def values(self):
        return json.loads(self.current)

    def original(self):
        return json.loads(self.data)

    @property
    def late_by(self):
        """How much later than the event it was entered, if over 15 minutes."""
        delay = self.recorded_at - self.occurred_at
        return delay if delay > dt.timedelta(minutes=15) else None


class SafetyAmendment(BaseModel):
    record = ForeignKeyField(SafetyRecord, backref="amendments", on_delete="RESTRICT")
    version = IntegerField()
    data = TextField()  # JSON of the whole entry after this correction
    changed = TextField()  # JSON list of the fields that changed
    reason = CharField(max_length=300)
    author = CharField(max_length=80)
    at = DateTimeField(default=utcnow)
    # set when this correction moved the time the event happened (UTC); null: not moved
    occurred_before = DateTimeField(null=True)
    occurred_after = DateTimeField(null=True)

    class Meta:
        indexes = ((("record", "version"), True),)


class StockLot(BaseModel):
    """Goods accepted at procurement, drawn down by use. A delivery accepted although its
    verdict failed is on hold (not usable) until its corrective action's disposition."""
    record = ForeignKeyField(SafetyRecord, null=True, on_delete="SET NULL")
    item = CharField(max_length=80)
    category = CharField(max_length=20)
    quantity = FloatField()
    qty_unit = CharField(max_length=10)
    remaining = FloatField()
    use_by = DateField(null=True)
    received_at = DateTimeField(default=utcnow)
    on_hold = BooleanField(default=False)

    def status(self, today, near_days=2):
        """usable | near_expiry | expired | on_hold (on hold wins until its disposition)."""
        if self.on_hold:
            return "on_hold"
        if self.use_by is None:
            return "usable"
        if self.use_by < today:
            return "expired"
        return "near_expiry" if self.use_by <= today + dt.timedelta(days=near_days) else "usable"


class StockUse(BaseModel):
    lot = ForeignKeyField(StockLot, backref="uses", on_delete="RESTRICT")
    quantity = FloatField()
    reason = CharField(max_length=20, default="used")  # used | discarded | returned
    author = CharField(max_length=80)
    at = DateTimeField(default=utcnow)


class SafetyVerdict(BaseModel):
    """How a version of an entry was judged, and by which checklist version: a later change
    of thresholds never rewrites it."""
    record = ForeignKeyField(SafetyRecord, backref="verdicts", on_delete="CASCADE")
    record_version = IntegerField()
    checklist_version = CharField(max_length=40)
    verdict = CharField(max_length=8)  # pass | fail
    findings = TextField()  # JSON list of findings
    judged_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("record", "record_version"), True),)

    def finding_list(self):
        return json.loads(self.findings)


ACTION_STEPS = ("open", "acknowledged", "action_recorded", "verified")
DISPOSITIONS = ("used", "reworked", "discarded", "returned")


class CorrectiveAction(BaseModel):
    """One per failing reading (or 4D round with a 差): open → acknowledged → action recorded
    (cause, action, disposition) → verified by someone other than the one who acted; a
    temperature finding is verified by a re-check reading within limits."""
    record = ForeignKeyField(SafetyRecord, backref="actions", on_delete="CASCADE", null=True)
    record_version = IntegerField(null=True)
    round_id = IntegerField(null=True)  # an InspectionRound, for a 差 in a 4D round
    item = CharField(max_length=20)  # the most serious finding's item
    d = CharField(max_length=16)
    severity = CharField(max_length=10)
    finding = TextField()  # JSON list of every finding of the reading (older rows: one finding)
    owner = CharField(max_length=80)
    status = CharField(max_length=16, index=True, default="open")
    opened_at = DateTimeField(default=utcnow)
    due_at = DateTimeField(index=True)
    acknowledged_at = DateTimeField(null=True)
    acknowledged_by = CharField(max_length=80, null=True)
    cause = TextField(null=True)
    action_taken = TextField(null=True)
    disposition = CharField(max_length=12, null=True)
    acted_at = DateTimeField(null=True)
    acted_by = CharField(max_length=80, null=True)
    verified_at = DateTimeField(null=True)
    verified_by = CharField(max_length=80, null=True)
    verification = TextField(null=True)
    recheck_value = FloatField(null=True)
    recheck_verdict = CharField(max_length=8, null=True)
    recheck_at = DateTimeField(null=True)
    recheck_by = CharField(max_length=80, null=True)

    def findings(self):
        """Every finding this action deals with (rows from before issue 14 hold one)."""
        value = json.loads(self.finding)
        return value if isinstance(value, list) else [value]

    def finding_dict(self):
        return self.findings()[0]

    @property
    def overdue(self):
        return self.status != "verified" and self.due_at < utcnow()


class InspectionRound(BaseModel):
    """One 4D walk-through of an area, scored 优/良/中/差 per item."""
    day = DateField(index=True)
    cadence = CharField(max_length=8)  # daily | weekly
    area = CharField(max_length=20, index=True)
    inspector = CharField(max_length=80)
    version = CharField(max_length=20)
    points = IntegerField()
    maximum = IntegerField()
    rate = FloatField()  # points ÷ maximum × 100
    created_at = DateTimeField(default=utcnow)


class InspectionGrade(BaseModel):
    round = ForeignKeyField(InspectionRound, backref="grades", on_delete="CASCADE")
    item = CharField(max_length=10)
    d = CharField(max_length=16)
    grade = CharField(max_length=10)
    points = IntegerField()
    remark = TextField(null=True)
    photo = CharField(max_length=40, null=True)


audit.cover(Supplier, StorageUnit, Staff, Training, SafetyRecord, SafetyAmendment, SafetyVerdict,
            CorrectiveAction, StockLot, StockUse, InspectionRound, InspectionGrade)
