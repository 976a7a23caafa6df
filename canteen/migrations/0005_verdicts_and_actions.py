"""4D verdicts on log entries, and the corrective actions that serious findings open."""
from peewee import (
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class SafetyRecord(Base):
        pass

    class SafetyVerdict(Base):
        record = ForeignKeyField(SafetyRecord, on_delete="CASCADE")
        record_version = IntegerField()
        checklist_version = CharField(max_length=40)
        verdict = CharField(max_length=8)
        findings = TextField()
        judged_at = DateTimeField()

        class Meta:
            indexes = ((("record", "record_version"), True),)

    class CorrectiveAction(Base):
        record = ForeignKeyField(SafetyRecord, on_delete="CASCADE")
        item = CharField(max_length=20)
        d = CharField(max_length=16)
        severity = CharField(max_length=10)
        finding = TextField()
        owner = CharField(max_length=80)
        status = CharField(max_length=16, index=True)
        opened_at = DateTimeField()
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

    db.create_tables([SafetyVerdict, CorrectiveAction], safe=True)


def down(migrator, db):
    db.execute_sql("DROP TABLE IF EXISTS corrective_action")
    db.execute_sql("DROP TABLE IF EXISTS safety_verdict")
