"""Food-safety registers (suppliers, storage units, staff, trainings), the log records with
their amendments, and stock on hand."""
import datetime as dt
import json

from peewee import (BooleanField, CharField, DateField, DateTimeField, FloatField, ForeignKeyField,
                    IntegerField, TextField)

from ..models import BaseModel, utcnow

UNIT_KINDS = ("dry", "cold_room", "fridge", "freezer", "sample_fridge")


class Staff(BaseModel):
    name = CharField(max_length=60)
    job = CharField(max_length=60, default="")
    health_cert_no = CharField(max_length=40, default="")
    health_cert_expiry = DateField(null=True)
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

    class Meta:
        indexes = ((("record", "version"), True),)


class StockLot(BaseModel):
    """Goods accepted at procurement, drawn down by use."""
    record = ForeignKeyField(SafetyRecord, null=True, on_delete="SET NULL")
    item = CharField(max_length=80)
    category = CharField(max_length=20)
    quantity = FloatField()
    qty_unit = CharField(max_length=10)
    remaining = FloatField()
    use_by = DateField(null=True)
    received_at = DateTimeField(default=utcnow)


class StockUse(BaseModel):
    lot = ForeignKeyField(StockLot, backref="uses", on_delete="RESTRICT")
    quantity = FloatField()
    reason = CharField(max_length=20, default="used")  # used | discarded | returned
    author = CharField(max_length=80)
    at = DateTimeField(default=utcnow)
