"""Scheduled work: job runs claimed once per slot, the expected-log schedule, alerts, digests."""
from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    IntegerField,
    Model,
    TextField,
)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class JobRun(Base):
        job = CharField(max_length=40)
        slot = CharField(max_length=40)
        started_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        outcome = CharField(max_length=16, default="running")
        detail = TextField(default="")

        class Meta:
            indexes = ((("job", "slot"), True),)

    class ExpectedLog(Base):
        kind = CharField(max_length=24)
        unit = IntegerField(null=True)
        times = CharField(max_length=120)
        grace_minutes = IntegerField(default=30)
        active = BooleanField(default=True)
        created_at = DateTimeField()

    class Alert(Base):
        key = CharField(max_length=120, unique=True)
        kind = CharField(max_length=24)
        role = CharField(max_length=16)
        message_zh = TextField()
        message_en = TextField()
        created_at = DateTimeField(index=True)
        acknowledged_at = DateTimeField(null=True)
        acknowledged_by = CharField(max_length=80, null=True)
        resolved_at = DateTimeField(null=True)
        resolved_by = CharField(max_length=80, null=True)

    class Digest(Base):
        kind = CharField(max_length=8)
        period = CharField(max_length=20)
        body = TextField()
        created_at = DateTimeField()

        class Meta:
            indexes = ((("kind", "period"), True),)

    class Delivery(Base):
        item_type = CharField(max_length=8)
        item_id = IntegerField()
        channel = CharField(max_length=8)
        status = CharField(max_length=8, index=True)
        attempts = IntegerField(default=0)
        last_error = TextField(default="")
        next_try_at = DateTimeField()
        sent_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("item_type", "item_id", "channel"), True),)

    db.create_tables([JobRun, ExpectedLog, Alert, Digest, Delivery], safe=True)


def down(migrator, db):
    for table in ("delivery", "digest", "alert", "expected_log", "job_run"):
        db.execute_sql(f"DROP TABLE IF EXISTS {table}")
