"""Who changed what, when: an append-only audit trail, keyed and bound to the records.

Each entry's hash is an HMAC (key outside the database: instance/audit_key, mode 0600, or
CANTEEN_AUDIT_KEY) over its content and the previous entry's hash, so someone with database
access alone can neither edit an entry nor rebuild the chain after an edit. An entry also
binds the rows it wrote (table, id, digest of the row as stored); `verify()` recomputes every
covered row and names the first that was changed, removed, or added without an entry. The
head (count and hash) is anchored outside the database — instance/audit-head.json, every
daily digest and every backup — so a chain cut short is noticed too.

Entries made before keying (scheme 1, plain SHA-256) stay valid only as a prefix: on the
first start after the upgrade, an intact unkeyed chain is sealed by one keyed entry
("audit.seal") that binds every covered row as it then stood.
"""
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from peewee import CharField, DateTimeField, IntegerField, TextField
from playhouse.pool import PooledPostgresqlDatabase

from .models import BaseModel, database, utcnow

GENESIS = "0" * 64
KEYED = 2  # scheme of HMAC entries; 1 = the unkeyed SHA-256 entries of before
ANCHOR_FILE = "audit-head.json"
KEY_FILE = "audit_key"

COVERED = {}  # table name -> model whose rows the chain vouches for (see cover())
_local = threading.local()
_anchor_lock = threading.Lock()


class AuditEntry(BaseModel):
    at = DateTimeField(default=utcnow, index=True)
    actor = CharField(max_length=80)  # "user:alice", "token:scale-1", "cli"
    action = CharField(max_length=40)  # e.g. dish.create, user.roles
    entity = CharField(max_length=40)
    entity_id = CharField(max_length=40, null=True)
    detail = TextField(default="{}")  # JSON
    binds = TextField(default="[]")  # JSON [[table, id, digest or null (removed)], ...]
    scheme = IntegerField(default=KEYED)
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64, unique=True)

    def content(self):
        parts = [self.at.isoformat(timespec="microseconds"), self.actor, self.action,
                 self.entity, self.entity_id, self.detail, self.prev_hash]
        if self.scheme == KEYED:
            parts.insert(6, self.binds)
        return json.dumps(parts, ensure_ascii=False, separators=(",", ":"))

    def expected_hash(self, key):
        if self.scheme == KEYED:
            return hmac.new(key, self.content().encode(), hashlib.sha256).hexdigest()
        return hashlib.sha256(self.content().encode()).hexdigest()

    def details(self):
        return json.loads(self.detail)

    def bound(self):
        return json.loads(self.binds or "[]") if self.scheme == KEYED else []


def cover(*models):
    """Put these models' rows under the chain: every row must be bound by an entry."""
    for model in models:
        COVERED[model._meta.table_name] = model


# --- the key and the anchor ------------------------------------------------------------

def load_key(app):
    """CANTEEN_AUDIT_KEY, else instance/audit_key (made once, mode 0600)."""
    if app.config.get("AUDIT_KEY"):
        return app.config["AUDIT_KEY"].encode()
    path = Path(app.instance_path) / KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path.read_text().strip().encode()


def key():
    return current_app.extensions["canteen_audit_key"]


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# Columns added to covered tables after their rows were first bound: while such a column is
# still empty (NULL) the row digests as it did before the column existed, so an upgrade does
# not make every old row look edited; once it holds a value, the value is vouched for too.
ADDED_LATER = {"staff": ("shift",), "safety_amendment": ("occurred_before", "occurred_after")}


def row_digest(row, table=None):
    """Digest of a row as stored (a dict of column values read back from the database)."""
    later = ADDED_LATER.get(table, ())
    row = {k: v for k, v in row.items() if not (k in later and v is None)}
    text = json.dumps({k: _plain(v) for k, v in sorted(row.items())}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _read_row(model, ident):
    return model.select().where(model._meta.primary_key == ident).dicts().get()


def last_hash():
    row = AuditEntry.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).first()
    return row.hash if row else GENESIS


def head():
    """{"count", "last_id", "hash"} of the chain now."""
    last = AuditEntry.select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).first()
    return {"count": AuditEntry.select().count(), "last_id": last.id if last else 0,
            "hash": last.hash if last else GENESIS}


def signed_head(value=None):
    """The head with an HMAC over it, as anchors keep it (so an anchor cannot be forged either)."""
    value = dict(value or head())
    value.pop("mac", None)
    value["at"] = value.get("at") or utcnow().isoformat(timespec="seconds") + "Z"
    value["mac"] = hmac.new(key(), _anchor_text(value).encode(), hashlib.sha256).hexdigest()
    return value


def _anchor_text(value):
    return json.dumps([value.get("count"), value.get("last_id"), value.get("hash"), value.get("at")])


def anchor_valid(value):
    return bool(value) and hmac.compare_digest(
        str(value.get("mac", "")), hmac.new(key(), _anchor_text(value).encode(), hashlib.sha256).hexdigest())


def anchor_path():
    return Path(current_app.instance_path) / ANCHOR_FILE


def read_anchor(path=None):
    path = Path(path) if path else anchor_path()
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_anchor(force=False):
    """Keep the chain's head in the instance folder. Never moves back unless `force` (restore)."""
    with _anchor_lock:
        value = signed_head()
        path = anchor_path()
        old = read_anchor(path)
        if not force and old and anchor_valid(old) and old.get("last_id", 0) > value["last_id"]:
            return old
        tmp = path.with_suffix(".part")
        tmp.write_text(json.dumps(value))
        tmp.replace(path)
        return value


def flush_anchor(_exc=None):
    """After the app context's transactions are over: anchor the head if entries were added."""
    if not getattr(_local, "dirty", False) or database.obj is None or database.in_transaction():
        return
    _local.dirty = False
    with database.connection_context():
        write_anchor()


# --- writing -----------------------------------------------------------------------------

def lock_chain():
    """Inside a transaction: wait until no other writer extends the chain (PostgreSQL; SQLite
    writers take turns already), so what the chain holds can be checked before adding to it."""
    if isinstance(database.obj, PooledPostgresqlDatabase):
        database.execute_sql("SELECT pg_advisory_xact_lock(7262736)")  # one writer extends the chain


def recorded_once(action, key, token, since):
    """The entry of `action` since `since` whose detail `key` is `token` (a page's one-time hex
    token: a form sent twice by a double tap is stored once), or None. Call after lock_chain(),
    inside the transaction that would write it."""
    return (AuditEntry.select()
            .where((AuditEntry.action == action) & (AuditEntry.at > since)
                   & AuditEntry.detail.contains(json.dumps({key: token})[1:-1]))
            .order_by(AuditEntry.id)
            .first())


def record(actor, action, entity, entity_id=None, rows=(), removed=(), **detail):
    """Append one entry. Call inside the transaction of the change it describes, after the
    change: `rows` are model instances it wrote (bound as they now stand in the database),
    `removed` are (model, id) pairs it deleted."""
    with database.atomic():
        lock_chain()
        binds = [[type(r)._meta.table_name, r.id, row_digest(_read_row(type(r), r.id), type(r)._meta.table_name)]
                 for r in rows]
        binds += [[model._meta.table_name, ident, None] for model, ident in removed]
        entry = AuditEntry(actor=actor, action=action, entity=entity,
                           entity_id=None if entity_id is None else str(entity_id),
                           detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
                           binds=json.dumps(binds, separators=(",", ":")), scheme=KEYED,
                           prev_hash=last_hash(), at=utcnow())
        entry.hash = entry.expected_hash(key())
        entry.save()
    _local.dirty = True
    return entry


def unbound_rows():
    """Covered rows no entry binds (or binds as removed)."""
    state = _bound_state(AuditEntry.select().order_by(AuditEntry.id))
    out = []
    for table, model in COVERED.items():
        for row in model.select().dicts():
            if state.get((table, row["id"]), (None,))[0] is None:
                out.append((model, row["id"]))
    return out


def seal(actor, action="audit.seal", **detail):
    """Bind every covered row no entry binds yet: once after upgrading an unkeyed chain, and
    after a bulk load (the demo). Returns the entry, or None when there was nothing."""
    rows = [model.get_by_id(ident) for model, ident in unbound_rows()]
    if not rows and action != "audit.seal":
        return None
    return record(actor, action, "audit", None, rows=rows, rows_bound=len(rows), **detail)


def seal_legacy_chain(app):
    """First start after keying: an intact unkeyed chain is sealed by one keyed entry. A
    broken one is left for verify-audit to report. An anchor that names another head means
    the chain was keyed before and has since been rewritten unkeyed: never sealed then (a
    restored backup from before keying has its own head as anchor, and is sealed)."""
    with app.app_context(), database.connection_context():
        if AuditEntry.select().where(AuditEntry.scheme == KEYED).exists() or not AuditEntry.select().exists():
            return None
        anchor, now = read_anchor(), head()
        if anchor and not (anchor_valid(anchor) and (anchor.get("last_id"), anchor.get("hash"))
                           == (now["last_id"], now["hash"])):
            return None
        if _walk(AuditEntry.select().order_by(AuditEntry.id), key())[1]:
            return None
        entry = seal("cli", legacy_entries=now["count"])
    return entry


# --- verifying -----------------------------------------------------------------------------

@dataclass
class Report:
    entries: int = 0
    problems: list = field(default_factory=list)
    head: dict = None
    anchor: str = "none"  # none | matched | other database | invalid

    @property
    def ok(self):
        return not self.problems

    @property
    def first(self):
        return self.problems[0] if self.problems else None

    def as_dict(self):
        return {"ok": self.ok, "entries": self.entries, "head": self.head, "anchor": self.anchor,
                "first": self.first, "problems": self.problems}


def describe(problem):
    """One sentence naming what was changed, removed or added."""
    p = problem
    if p["problem"] == "entry_changed":
        return f"audit entry #{p['entry']} was changed, or written without the key"
    if p["problem"] == "entry_unkeyed":
        return f"audit entry #{p['entry']} is unkeyed after the chain was keyed (rewritten)"
    if p["problem"] == "entry_removed":
        return f"the audit entry before #{p['entry']} was removed or changed (its link does not match)"
    if p["problem"] == "cut_short":
        return (f"the audit chain was cut short: the anchor records {p['anchored_count']} entries up to "
                f"#{p['anchored_id']}, the database holds {p['count']} up to #{p['last_id']}")
    if p["problem"] == "head_changed":
        return f"audit entry #{p['entry']} differs from the anchored head (the chain was rebuilt)"
    if p["problem"] == "row_changed":
        return f"{p['table']} #{p['id']} was changed after audit entry #{p['entry']} recorded it"
    if p["problem"] == "row_removed":
        return f"{p['table']} #{p['id']} was removed; audit entry #{p['entry']} recorded it"
    if p["problem"] == "row_added":
        return f"{p['table']} #{p['id']} was added without an audit entry"
    return json.dumps(p)


def _walk(entries, secret):
    """(count, problems) of the chain's own links and hashes; stops at the first break."""
    prev, keyed, count = GENESIS, False, 0
    for entry in entries:
        count += 1
        if entry.prev_hash != prev:
            return count, [{"problem": "entry_removed", "entry": entry.id}]
        if keyed and entry.scheme != KEYED:
            return count, [{"problem": "entry_unkeyed", "entry": entry.id}]
        if not hmac.compare_digest(entry.expected_hash(secret), entry.hash):
            return count, [{"problem": "entry_changed", "entry": entry.id}]
        keyed = keyed or entry.scheme == KEYED
        prev = entry.hash
    return count, []


def _bound_state(entries):
    state = {}
    for entry in entries:
        for table, ident, digest in entry.bound():
            state[(table, ident)] = (digest, entry.id)
    return state


def verify(anchor=None, check_rows=True, as_stored=False):
    """Recompute the chain and every covered row; a Report naming each problem, first first.
    `anchor`: a head to compare with (default: the instance folder's). `as_stored`: read only
    the tables and columns the database has (a backup file from an older release)."""
    secret = key()
    entries = list(AuditEntry.select().order_by(AuditEntry.id))
    report = Report(entries=len(entries), head=head())
    _count, report.problems = _walk(entries, secret)
    anchor = read_anchor() if anchor is None else anchor
    if anchor:
        if not anchor_valid(anchor):
            report.anchor = "invalid"
        else:
            report.anchor = "matched"
            by_id = {e.id: e for e in entries}
            if report.head["last_id"] < anchor["last_id"] or (anchor["last_id"] and anchor["last_id"] not in by_id):
                report.problems.append({"problem": "cut_short", "anchored_count": anchor["count"],
                                        "anchored_id": anchor["last_id"], "count": report.head["count"],
                                        "last_id": report.head["last_id"]})
            elif anchor["last_id"] and by_id[anchor["last_id"]].hash != anchor["hash"]:
                report.problems.append({"problem": "head_changed", "entry": anchor["last_id"]})
    if check_rows and any(e.scheme == KEYED for e in entries):
        report.problems += row_problems(_bound_state(entries), as_stored)
    return report


def _stored_fields(model):
    """The model's fields the bound database has: a backup taken before an upgrade lacks the
    tables and columns added since (an absent column reads as empty, as ADDED_LATER digests it)."""
    db, table = model._meta.database, model._meta.table_name
    if not db.table_exists(table):
        return []
    columns = {c.name for c in db.get_columns(table)}
    return [f for f in model._meta.sorted_fields if f.column_name in columns]


def row_problems(state, as_stored=False):
    problems, seen = [], set()
    for table, model in COVERED.items():
        fields = _stored_fields(model) if as_stored else model._meta.sorted_fields
        if not fields:
            continue
        for row in model.select(*fields).dicts().order_by(model._meta.primary_key):
            key_ = (table, row["id"])
            seen.add(key_)
            digest, entry = state.get(key_, (None, None))
            if digest is None:
                problems.append({"problem": "row_added", "table": table, "id": row["id"]})
            elif digest != row_digest(row, table):
                problems.append({"problem": "row_changed", "table": table, "id": row["id"], "entry": entry})
    for (table, ident), (digest, entry) in state.items():
        if digest is not None and (table, ident) not in seen and table in COVERED:
            problems.append({"problem": "row_removed", "table": table, "id": ident, "entry": entry})
    return sorted(problems, key=lambda p: (p.get("entry") or 10 ** 12, p["table"], p["id"]))


def verify_database(db, anchor=None):
    """The same checks on another database (a backup file), with its own anchor."""
    columns = {c.name for c in db.get_columns("audit_entry")}
    models = [AuditEntry, *COVERED.values()]
    if "scheme" not in columns:  # a backup from before keying: its unkeyed chain only
        rows = db.execute_sql("SELECT id, at, actor, action, entity, entity_id, detail, prev_hash, hash "
                              "FROM audit_entry ORDER BY id").fetchall()
        prev = GENESIS
        for r in rows:
            e = AuditEntry(id=r[0], at=dt.datetime.fromisoformat(str(r[1])), actor=r[2], action=r[3],
                           entity=r[4], entity_id=r[5], detail=r[6], prev_hash=r[7], hash=r[8], scheme=1)
            if e.prev_hash != prev or e.expected_hash(None) != e.hash:
                return Report(entries=len(rows), problems=[{"problem": "entry_changed", "entry": e.id}])
            prev = e.hash
        return Report(entries=len(rows))
    with db.bind_ctx(models):
        return verify(anchor=anchor if anchor is not None else {}, as_stored=True)


def init_app(app):
    app.extensions["canteen_audit_key"] = load_key(app)
    app.teardown_appcontext(flush_anchor)
    seal_legacy_chain(app)


ANCHOR_PROBLEMS = ("cut_short", "head_changed")


@click.command("verify-audit")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts).")
@click.option("--reanchor", is_flag=True,
              help="After restoring the database from an older dump on purpose: when the chain and every "
                   "record verify and only the anchor is ahead, move the anchor to the database's head.")
@with_appcontext
def verify_audit_command(as_json, reanchor):
    """Recompute the audit chain and every food-safety record, verdict, corrective action and
    register row it covers; exit 1 naming the first that was changed, removed or added."""
    report = verify()
    if reanchor and report.problems and all(p["problem"] in ANCHOR_PROBLEMS for p in report.problems):
        old = read_anchor()
        write_anchor(force=True)
        click.echo(f"Anchor moved from entry #{old.get('last_id')} to #{report.head['last_id']} "
                   "(the chain and every record verify).")
        report = verify()
    if as_json:
        out = report.as_dict()
        out["message"] = describe(report.first) if report.first else "intact"
        click.echo(json.dumps(out, ensure_ascii=False, default=str))
    elif report.ok:
        click.echo(f"Audit chain intact: {report.entries} {'entry' if report.entries == 1 else 'entries'}"
                   + (", head matches its anchor." if report.anchor == "matched" else "."))
    else:
        click.echo(f"Audit check FAILED: {describe(report.first)}.")
        for problem in report.problems[1:20]:
            click.echo(f"  also: {describe(problem)}")
    if not report.ok:
        sys.exit(1)
