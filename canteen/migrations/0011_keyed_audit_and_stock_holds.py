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
    # Goods accepted before this release although their latest verdict failed go on hold,
    # unless a corrective action already released them (used or reworked).
    db.execute_sql(
        "UPDATE stock_lot SET on_hold = TRUE WHERE remaining > 0 AND record_id IN ("
        " SELECT v.record_id FROM safety_verdict v WHERE v.verdict = 'fail' AND v.record_version = ("
        "  SELECT max(w.record_version) FROM safety_verdict w WHERE w.record_id = v.record_id))"
        " AND record_id NOT IN (SELECT a.record_id FROM corrective_action a"
        "  WHERE a.record_id IS NOT NULL AND a.disposition IN ('used', 'reworked'))")
