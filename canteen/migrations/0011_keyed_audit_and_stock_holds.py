"""Issue 14: the audit chain keyed and bound to the rows it vouches for; stock on hold until a
corrective action's disposition settles it; one corrective action per reading (or per 4D
round), verified by a recorded re-check reading."""
from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    FloatField,
    IntegerField,
    TextField,
)


def up(migrator, db):
    migrator.migrate(
        # existing entries are the unkeyed SHA-256 chain (scheme 1); the app seals them once
        migrator.add_column("audit_entry", "binds", TextField(default="[]")),
        migrator.add_column("audit_entry", "scheme", IntegerField(default=1)),
        migrator.add_column("stock_lot", "on_hold", BooleanField(default=False)),
        migrator.add_column("corrective_action", "record_version", IntegerField(null=True)),
        migrator.add_column("corrective_action", "round_id", IntegerField(null=True)),
        migrator.add_column("corrective_action", "recheck_value", FloatField(null=True)),
        migrator.add_column("corrective_action", "recheck_verdict", CharField(max_length=8, null=True)),
        migrator.add_column("corrective_action", "recheck_at", DateTimeField(null=True)),
        migrator.add_column("corrective_action", "recheck_by", CharField(max_length=80, null=True)),
        migrator.drop_not_null("corrective_action", "record_id"),
    )
