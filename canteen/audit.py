"""Who changed what, when: an append-only, hash-chained audit trail.

Each entry's hash covers its content and the previous entry's hash, so an edited or deleted
entry breaks the chain and `verify()` says where.
"""
import hashlib
import json
import sys

import click
from flask.cli import with_appcontext
from peewee import CharField, DateTimeField, PostgresqlDatabase, TextField

from .models import BaseModel, database, utcnow


class AuditEntry(BaseModel):
    at = DateTimeField(default=utcnow, index=True)
    actor = CharField(max_length=80)  # "user:alice", "token:scale-1", "cli"
    action = CharField(max_length=40)  # e.g. dish.create, user.roles
    entity = CharField(max_length=40)
    entity_id = CharField(max_length=40, null=True)
    detail = TextField(default="{}")  # JSON
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64, unique=True)

    def content(self):
        return json.dumps([self.at.isoformat(timespec="microseconds"), self.actor, self.action,
                           self.entity, self.entity_id, self.detail, self.prev_hash],
                          ensure_ascii=False, separators=(",", ":"))

    def details(self):
        return json.loads(self.detail)


GENESIS = "0" * 64
AUDIT_LOCK = 0x63616E74  # PostgreSQL advisory lock id held while an entry is appended


def last_hash():
    row = AuditEntry.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).first()
    return row.hash if row else GENESIS


def record(actor, action, entity, entity_id=None, **detail):
    """Append one entry. Call inside the transaction of the change it describes."""
    with database.atomic():
        if isinstance(database.obj, PostgresqlDatabase):  # one writer at a time, or the chain forks
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
        entry = AuditEntry(actor=actor, action=action, entity=entity,
                           entity_id=None if entity_id is None else str(entity_id),
                           detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
                           prev_hash=last_hash(), at=utcnow())
        entry.hash = hashlib.sha256(entry.content().encode()).hexdigest()
        entry.save()
    return entry


def verify():
    """None if the chain holds, else the id of the first entry that breaks it."""
    prev = GENESIS
    for entry in AuditEntry.select().order_by(AuditEntry.id):
        if entry.prev_hash != prev or hashlib.sha256(entry.content().encode()).hexdigest() != entry.hash:
            return entry.id
        prev = entry.hash
    return None


@click.command("verify-audit")
@with_appcontext
def verify_audit_command():
    """Walk the audit chain; exit 1 at the first entry that was changed or removed."""
    broken = verify()
    count = AuditEntry.select().count()
    if broken is not None:
        click.echo(f"Audit chain BROKEN at entry {broken} (of {count}): it was changed, or one "
                   "before it was removed, outside the app.")
        sys.exit(1)
    click.echo(f"Audit chain intact: {count} entries.")
