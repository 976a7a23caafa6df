"""Tamper evidence (issue 14): the keyed audit chain vouches for every food-safety record,
version, verdict, corrective-action step and register row, and its head is anchored outside
the database. Each way of tampering is made by SQL behind the app's back, on SQLite and
PostgreSQL, and `verify-audit` must name it."""
import datetime as dt
import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import pytest

from canteen import audit
from canteen.audit import AuditEntry
from canteen.jobs import backup
from canteen.models import database
from canteen.safety.models import (
    CorrectiveAction,
    SafetyRecord,
    SafetyVerdict,
    Staff,
    StockLot,
)

from .conftest import close_pool, make_app, signed_in
from .test_safety import in_db, kitchen, valid_entries  # noqa: F401


def sql(app, text, *params):
    in_db(app, lambda: database.execute_sql(text, params or None))


def verify(app):
    result = app.test_cli_runner().invoke(args=["verify-audit", "--json"])
    return result.exit_code, json.loads(result.output)


@pytest.fixture
def logged(app, staff, kitchen):  # noqa: F811
    """A cold room at 9.5 ℃ (fails, opens an action), a good reading, a tableware entry."""
    client = signed_in(app, "manager")
    warm = client.post("/api/v1/safety/storage",
                       json=dict(valid_entries(kitchen)["storage"], temperature=9.5)).get_json()
    client.post("/api/v1/safety/storage", json=valid_entries(kitchen)["storage"])
    client.post("/api/v1/safety/tableware", json=valid_entries(kitchen)["tableware"])
    assert warm["verdict"] == "fail"
    return warm["id"]


def test_an_untouched_database_passes_and_the_key_stays_outside_it(app, logged):
    code, report = verify(app)
    assert code == 0 and report["ok"] and report["anchor"] == "matched", report
    key_file = Path(app.instance_path) / "audit_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    dumped = json.dumps(in_db(app, lambda: list(AuditEntry.select().dicts())), default=str)
    assert key not in dumped
    text = app.test_cli_runner().invoke(args=["verify-audit"]).output
    assert "intact" in text and f"{report['entries']} entries" in text


def test_a_reading_edited_in_the_database_is_named(app, logged):
    sql(app, "UPDATE safety_record SET current = REPLACE(current, '9.5', '4.0') WHERE id = %d" % logged)
    code, report = verify(app)
    assert code == 1 and report["first"]["problem"] == "row_changed"
    assert (report["first"]["table"], report["first"]["id"]) == ("safety_record", logged)
    assert f"safety_record #{logged} was changed" in report["message"]


def test_a_verdict_edited_is_named(app, logged):
    sql(app, "UPDATE safety_verdict SET verdict = 'pass', findings = '[]' WHERE record_id = %d" % logged)
    verdict_id = in_db(app, lambda: SafetyVerdict.get(SafetyVerdict.record == logged).id)
    code, report = verify(app)
    assert code == 1 and (report["first"]["table"], report["first"]["id"]) == ("safety_verdict", verdict_id)


def test_a_corrective_action_deleted_is_named(app, logged):
    action_id = in_db(app, lambda: CorrectiveAction.get(CorrectiveAction.record == logged).id)
    sql(app, "DELETE FROM corrective_action WHERE id = %d" % action_id)
    code, report = verify(app)
    assert code == 1 and report["first"]["problem"] == "row_removed"
    assert (report["first"]["table"], report["first"]["id"]) == ("corrective_action", action_id)
    assert "was removed" in report["message"]


def test_a_record_inserted_by_sql_is_named(app, logged):
    def insert():
        original = SafetyRecord.get_by_id(logged)
        return SafetyRecord.insert(kind="storage", data=original.data, current=original.data, version=1,
                                   recorded_at=original.recorded_at, occurred_at=original.occurred_at,
                                   author="user:manager", day=original.day).execute()
    new_id = in_db(app, insert)
    code, report = verify(app)
    assert code == 1 and report["first"] == {"problem": "row_added", "table": "safety_record", "id": new_id}
    assert "added without an audit entry" in report["message"]


def test_the_newest_three_entries_deleted_are_noticed_against_the_anchor(app, logged):
    ids = in_db(app, lambda: [e.id for e in AuditEntry.select().order_by(AuditEntry.id.desc()).limit(3)])
    sql(app, "DELETE FROM audit_entry WHERE id IN (%s)" % ",".join(map(str, ids)))
    code, report = verify(app)
    assert code == 1 and report["first"]["problem"] == "cut_short"
    assert report["first"]["anchored_id"] == max(ids)
    assert "cut short" in report["message"]


def test_a_chain_recomputed_without_the_key_is_named(app, logged):
    """The attacker edits the reading, puts its new digest into the entry that binds it and
    recomputes every hash from there on — with SHA-256 or a key of his own."""
    sql(app, "UPDATE safety_record SET current = REPLACE(current, '9.5', '4.0') WHERE id = %d" % logged)

    def rebuild(make_hash, scheme):
        row = SafetyRecord.select().where(SafetyRecord.id == logged).dicts().get()
        entries = list(AuditEntry.select().order_by(AuditEntry.id))
        first = None
        prev = audit.GENESIS
        for entry in entries:
            binds = entry.bound()
            for b in binds:
                if b[:2] == ["safety_record", logged]:
                    b[2] = audit.row_digest(row)
                    first = first or entry.id
            if first:
                entry.binds, entry.scheme, entry.prev_hash = json.dumps(binds, separators=(",", ":")), scheme, prev
                entry.hash = make_hash(entry.content())
                entry.save()
            prev = entry.hash
        return first

    forged = in_db(app, lambda: rebuild(
        lambda text: __import__("hmac").new(b"a guess", text.encode(), hashlib.sha256).hexdigest(), audit.KEYED))
    code, report = verify(app)
    assert code == 1 and report["first"] == {"problem": "entry_changed", "entry": forged}
    in_db(app, lambda: rebuild(lambda text: hashlib.sha256(text.encode()).hexdigest(), 1))
    code, report = verify(app)
    assert code == 1 and report["first"]["entry"] == forged
    assert report["first"]["problem"] in ("entry_changed", "entry_unkeyed")


def test_a_register_change_behind_the_apps_back_is_named(app, logged, kitchen):  # noqa: F811
    sql(app, "UPDATE supplier SET licence_expiry = '2099-01-01' WHERE id = %d" % kitchen["lapsed"])
    code, report = verify(app)
    assert code == 1 and (report["first"]["table"], report["first"]["id"]) == ("supplier", kitchen["lapsed"])


def test_a_column_added_by_an_upgrade_leaves_the_rows_bound_before_it_intact(app, logged, kitchen):  # noqa: F811
    """Staff rows bound before staff.shift existed (migration 0019) digest as they did then while
    the new column is empty; a value put there behind the app's back is still named."""
    row = in_db(app, lambda: Staff.select().where(Staff.id == kitchen["cook"]).dicts().get())
    assert row["shift"] is None
    before_the_column = {k: v for k, v in row.items() if k != "shift"}
    # what verification computes now is what the code before 0019 bound (no table, no column)
    assert audit.row_digest(row, "staff") == audit.row_digest(before_the_column)
    assert verify(app)[0] == 0
    sql(app, "UPDATE staff SET shift = 'night' WHERE id = %d" % kitchen["cook"])
    code, report = verify(app)
    assert code == 1 and (report["first"]["table"], report["first"]["id"]) == ("staff", kitchen["cook"])


def test_an_unkeyed_chain_from_before_is_sealed_once_and_then_protected(db_url, tmp_path):
    """An installation upgraded from the SHA-256 chain: its old entries and rows are bound by
    one keyed seal on the first start; an old entry edited afterwards is noticed."""
    app = make_app(db_url, tmp_path)
    with app.app_context(), database.connection_context():
        from canteen.safety.models import Staff
        Staff.create(name="老王")
        prev = audit.GENESIS
        for i in range(3):  # what the old code wrote
            entry = AuditEntry(actor="cli", action="dish.create", entity="dish", entity_id=str(i), detail="{}",
                               binds="[]", scheme=1, prev_hash=prev, at=dt.datetime(2026, 11, 1, 8, i))
            entry.hash = hashlib.sha256(entry.content().encode()).hexdigest()
            entry.save()
            prev = entry.hash
        stale = audit.signed_head({"count": 9, "last_id": 9, "hash": "f" * 64})
    anchor = tmp_path / "instance" / audit.ANCHOR_FILE
    anchor.write_text(json.dumps(stale))  # an anchor naming another head: the chain was rewritten
    close_pool()
    refused = make_app(db_url, tmp_path)
    with refused.app_context(), database.connection_context():
        assert not AuditEntry.select().where(AuditEntry.scheme == audit.KEYED).exists()  # not laundered
        assert audit.verify().first["problem"] == "cut_short"
    close_pool()
    anchor.unlink()  # as on the first start after the upgrade (or a restored backup's own head)
    upgraded = make_app(db_url, tmp_path)
    with upgraded.app_context(), database.connection_context():
        seal = AuditEntry.select().order_by(AuditEntry.id.desc()).get()
        assert (seal.action, seal.scheme, seal.prev_hash) == ("audit.seal", audit.KEYED, prev)
        assert audit.verify().ok
    close_pool()
    again = make_app(db_url, tmp_path)  # sealed once, not at every start
    with again.app_context(), database.connection_context():
        assert AuditEntry.select().where(AuditEntry.action == "audit.seal").count() == 1
        prev = audit.GENESIS  # the old entries rewritten and re-hashed as the old code would
        for entry in AuditEntry.select().where(AuditEntry.scheme == 1).order_by(AuditEntry.id):
            entry.actor, entry.prev_hash = "someone", prev
            entry.hash = hashlib.sha256(entry.content().encode()).hexdigest()
            entry.save()
            prev = entry.hash
        assert audit.verify().first == {"problem": "entry_removed", "entry": seal.id}
    close_pool()


def test_a_backup_records_the_head_restores_and_verifies(tmp_path, staff_free_sqlite_app):
    app = staff_free_sqlite_app
    with app.app_context(), database.connection_context():
        audit.record("test", "write", "thing", 1)
        made = backup.make_backup(dt.datetime(2026, 11, 26, 2, 30))
        entries, last = AuditEntry.select().count(), AuditEntry.select().order_by(AuditEntry.id.desc()).get()
    head = json.loads(backup.head_file(made).read_text())
    assert (head["count"], head["last_id"], head["hash"]) == (entries, last.id, last.hash) and head["mac"]
    with app.app_context(), database.connection_context():
        audit.record("test", "write", "thing", 2)
    result = app.test_cli_runner().invoke(args=["restore", made])
    assert result.exit_code == 0, result.output
    code, report = verify(app)
    assert code == 0 and report["anchor"] == "matched" and report["entries"] == head["count"]
    conn = sqlite3.connect(made)  # a backup cut short after it was taken no longer verifies
    conn.execute("DELETE FROM audit_entry WHERE id = (SELECT max(id) FROM audit_entry)")
    conn.commit()
    conn.close()
    with app.app_context():
        ok, message = backup.verify_file(made)
    assert not ok and "cut short" in message


def test_the_daily_digest_records_the_head(app, logged):
    from canteen.jobs import digests

    with app.app_context(), database.connection_context():
        digests.daily(dt.datetime.now())
        body = digests.Digest.get().data()
    assert body["audit_head"]["count"] == in_db(app, lambda: AuditEntry.select().count())
    assert body["audit_head"]["mac"]


@pytest.fixture
def staff_free_sqlite_app(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/live.db", tmp_path)
    yield app
    close_pool()


def test_the_key_can_come_from_the_environment_and_only_it_verifies(tmp_path):
    url = f"sqlite:///{tmp_path}/keyed.db"
    app = make_app(url, tmp_path, AUDIT_KEY="k" * 64)
    with app.app_context(), database.connection_context():
        audit.record("test", "write", "thing", 1)
        assert audit.verify().ok
    assert not (tmp_path / "instance" / "audit_key").exists()  # nothing of it on disk
    close_pool()
    other = make_app(url, tmp_path, AUDIT_KEY="x" * 64)
    with other.app_context(), database.connection_context():
        report = audit.verify()
    assert report.first == {"problem": "entry_changed", "entry": 1} and report.anchor == "invalid"
    close_pool()


def test_an_anchor_ahead_of_a_deliberately_restored_database_can_be_moved(app, logged):
    """After restoring PostgreSQL from an older dump on purpose, the operator moves the anchor —
    only when the chain and every record verify."""
    in_db(app, lambda: audit.record("user:admin", "account.login", "user", 1))  # binds no row
    newest = in_db(app, lambda: AuditEntry.select().order_by(AuditEntry.id.desc()).get().id)
    runner = app.test_cli_runner()
    sql(app, "DELETE FROM audit_entry WHERE id = %d" % newest)  # the dump was taken before it
    sql(app, "UPDATE safety_record SET current = REPLACE(current, '9.5', '4.0') WHERE id = %d" % logged)
    refused = runner.invoke(args=["verify-audit", "--reanchor"])  # a changed record: never re-anchored
    assert refused.exit_code == 1 and "Anchor moved" not in refused.output
    sql(app, "UPDATE safety_record SET current = REPLACE(current, '4.0', '9.5') WHERE id = %d" % logged)
    assert verify(app)[1]["first"]["problem"] == "cut_short"
    moved = runner.invoke(args=["verify-audit", "--reanchor"])
    assert moved.exit_code == 0 and "Anchor moved" in moved.output and "intact" in moved.output
    assert verify(app)[0] == 0


def test_an_existing_database_upgrades_and_its_old_records_are_sealed(empty_db_url, tmp_path):
    """A database made by the code before migration 0011 (unkeyed chain, a record with a
    corrective action): the migration keeps every row, the first start seals it, and an edit
    of an old record is then named."""
    from playhouse.migrations import Runner

    from canteen.db import MIGRATIONS, open_database

    old = open_database(empty_db_url)
    with old.connection_context():
        Runner(old, str(MIGRATIONS)).up(target="0009_feedback_follow_up")
        old.execute_sql("INSERT INTO staff (name, job, health_cert_no, active, created_at) "
                        "VALUES ('老王', '厨师', '', %s, '2026-11-01 08:00:00')" % ("1" if "sqlite" in empty_db_url else "true"))
        old.execute_sql("INSERT INTO safety_record (kind, data, current, version, recorded_at, occurred_at, author, day) "
                        "VALUES ('cooking', '{\"core_temp\": 60}', '{\"core_temp\": 60}', 1, '2026-11-01 08:00:00', "
                        "'2026-11-01 08:00:00', 'user:manager', '2026-11-01')")
        old.execute_sql("INSERT INTO corrective_action (record_id, item, d, severity, finding, owner, status, "
                        "opened_at, due_at) VALUES (1, 'COOK-01', 'execution', 'critical', '{\"item\": \"COOK-01\"}', "
                        "'manager', 'open', '2026-11-01 08:00:00', '2026-11-02 08:00:00')")
        old.execute_sql("INSERT INTO safety_verdict (record_id, record_version, checklist_version, verdict, findings, "
                        "judged_at) VALUES (1, 1, '2026.1', 'fail', '[]', '2026-11-01 08:00:00')")
        for record_id in (1, None):  # a lot whose delivery failed, and one with no record left
            old.execute_sql("INSERT INTO stock_lot (record_id, item, category, quantity, qty_unit, remaining, "
                            "received_at) VALUES (%s, '豆腐', 'other', 20, 'kg', 20, '2026-11-01 08:00:00')"
                            % ("NULL" if record_id is None else record_id))
        prev = audit.GENESIS
        for i, at in enumerate(("2026-11-01 08:00:00.000001", "2026-11-01 08:00:01.000001")):
            entry = AuditEntry(actor="user:manager", action="safety.cooking.create", entity="safety_record",
                               entity_id="1", detail="{}", prev_hash=prev, scheme=1,
                               at=dt.datetime.fromisoformat(at))
            digest = hashlib.sha256(entry.content().encode()).hexdigest()
            old.execute_sql("INSERT INTO audit_entry (at, actor, action, entity, entity_id, detail, prev_hash, hash) "
                            "VALUES (%s)" % ", ".join("'%s'" % v for v in (
                                at, entry.actor, entry.action, entry.entity, "1", "{}", prev, digest)))
            prev = digest
    old.close_all()
    app = make_app(empty_db_url, tmp_path)
    with app.app_context(), database.connection_context():
        action = CorrectiveAction.get()
        assert (action.record_id, action.finding_dict()["item"], action.round_id) == (1, "COOK-01", None)
        seal = AuditEntry.select().order_by(AuditEntry.id.desc()).get()
        assert seal.action == "audit.seal" and seal.prev_hash == prev
        assert {b[0] for b in seal.bound()} == {"staff", "safety_record", "safety_verdict", "corrective_action",
                                                "stock_lot"}
        assert [lot.on_hold for lot in StockLot.select().order_by(StockLot.id)] == [True, False]
        assert SafetyVerdict.get().checklist_version == "2026.1"  # old verdicts keep their version
        assert audit.verify().ok
    sql(app, "UPDATE safety_record SET current = '{\"core_temp\": 75}' WHERE id = 1")
    code, report = verify(app)
    assert code == 1 and report["first"]["table"] == "safety_record" and report["first"]["entry"] == seal.id
    close_pool()


def test_concurrent_saves_keep_one_unbroken_chain(app, staff, kitchen):  # noqa: F811
    """Four kitchen tablets saving at once: every entry extends the same chain (no fork)."""
    import threading

    errors = []

    def tablet(n):
        client = signed_in(app, "manager")
        for i in range(8):
            r = client.post("/api/v1/safety/storage",
                            json=dict(valid_entries(kitchen)["storage"], temperature=2 + (n * 8 + i) / 10))
            if r.status_code != 201:
                errors.append(r.get_data(as_text=True))

    threads = [threading.Thread(target=tablet, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    code, report = verify(app)
    assert code == 0 and report["entries"] == in_db(app, lambda: AuditEntry.select().count()), report
    assert in_db(app, lambda: SafetyRecord.select().count()) == 32


def test_a_backup_from_before_keying_restores_and_is_sealed_on_the_next_start(tmp_path, staff_free_sqlite_app):
    from playhouse.migrations import Runner

    from canteen.db import MIGRATIONS, open_database

    legacy = tmp_path / "canteen-20261101-0230.db"
    old = open_database(f"sqlite:///{legacy}")
    with old.connection_context():
        Runner(old, str(MIGRATIONS)).up(target="0009_feedback_follow_up")
        entry = AuditEntry(actor="cli", action="dish.create", entity="dish", entity_id="1", detail="{}",
                           prev_hash=audit.GENESIS, scheme=1, at=dt.datetime(2026, 11, 1, 8, 0, 0, 1))
        digest = hashlib.sha256(entry.content().encode()).hexdigest()
        old.execute_sql("INSERT INTO audit_entry (at, actor, action, entity, entity_id, detail, prev_hash, hash) "
                        "VALUES ('2026-11-01 08:00:00.000001', 'cli', 'dish.create', 'dish', '1', '{}', ?, ?)",
                        (audit.GENESIS, digest))
    old.close_all()
    app = staff_free_sqlite_app
    result = app.test_cli_runner().invoke(args=["restore", str(legacy)])
    assert result.exit_code == 0 and "1 audit entries verified" in result.output, result.output
    close_pool()
    restarted = make_app(f"sqlite:///{tmp_path}/live.db", tmp_path)
    with restarted.app_context(), database.connection_context():
        assert [e.action for e in AuditEntry.select().order_by(AuditEntry.id)] == ["dish.create", "audit.seal"]
        assert audit.verify().ok
    close_pool()


def test_the_first_link_of_the_chain_is_checked_like_any_other(app, logged):
    """The chain starts from a fixed genesis: the very first entry, edited or deleted, is named."""
    first, second = in_db(app, lambda: [e.id for e in AuditEntry.select().order_by(AuditEntry.id).limit(2)])
    sql(app, "UPDATE audit_entry SET actor = 'user:nobody' WHERE id = %d" % first)
    code, report = verify(app)
    assert code == 1 and report["first"] == {"problem": "entry_changed", "entry": first}, report
    sql(app, "DELETE FROM audit_entry WHERE id = %d" % first)
    code, report = verify(app)
    assert code == 1 and report["first"] == {"problem": "entry_removed", "entry": second}, report


def test_the_anchor_never_moves_back_to_a_shorter_chain(app, logged):
    """After the newest entries are deleted, writing the anchor again (any later request does)
    keeps the longer head it had, so the cut stays visible; only --reanchor moves it back."""
    anchored = in_db(app, lambda: audit.read_anchor())
    ids = in_db(app, lambda: [e.id for e in AuditEntry.select().order_by(AuditEntry.id.desc()).limit(2)])
    sql(app, "DELETE FROM audit_entry WHERE id IN (%s)" % ",".join(map(str, ids)))
    with app.app_context(), database.connection_context():
        kept = audit.write_anchor()
    assert kept["last_id"] == anchored["last_id"] == max(ids)
    assert in_db(app, lambda: audit.read_anchor())["last_id"] == max(ids)
    code, report = verify(app)
    assert code == 1 and report["first"]["problem"] == "cut_short"


# The columns of every table under the audit chain as its rows were first bound. A column added
# by a later migration must be nullable and listed in audit.ADDED_LATER, or every row bound
# before the upgrade fails verify-audit as "changed" (staff.shift nearly did).
BOUND_COLUMNS = {
    "corrective_action": set(("id record_id record_version round_id item d severity finding owner "
                              "status opened_at due_at acknowledged_at acknowledged_by cause "
                              "action_taken disposition acted_at acted_by verified_at verified_by "
                              "verification recheck_value recheck_verdict recheck_at recheck_by").split()),
    "inspection_grade": set("id round_id item d grade points remark photo".split()),
    "inspection_round": set("id day cadence area inspector version points maximum rate created_at".split()),
    "safety_amendment": set("id record_id version data changed reason author at".split()),
    "safety_record": set("id kind data current version recorded_at occurred_at author day".split()),
    "safety_verdict": set("id record_id record_version checklist_version verdict findings judged_at".split()),
    "staff": set("id name job health_cert_no health_cert_expiry active created_at".split()),
    "stock_lot": set(("id record_id item category quantity qty_unit remaining use_by received_at "
                      "on_hold").split()),
    "stock_use": set("id lot_id quantity reason author at".split()),
    "storage_unit": set("id name kind owner_id checker_id active created_at".split()),
    "suggestion": set(("id kind text dish_id team person venue raised_on status plan due reason "
                       "answered_at done_at trial_dish_id change_id author created_at").split()),
    "suggestion_backer": set("id suggestion_id team author created_at".split()),
    "suggestion_step": set("id suggestion_id step note author at".split()),
    "supplier": set("id name licence_no licence_expiry contact active created_at".split()),
    "training": set("id staff_id topic day trainer created_at".split()),
}


def test_every_column_added_to_a_covered_table_is_declared_added_later():
    import canteen.reports.models  # noqa: F401  (covers the suggestions' tables)
    for table, model in audit.COVERED.items():
        later = set(audit.ADDED_LATER.get(table, ()))
        columns = {f.column_name for f in model._meta.sorted_fields}
        assert columns - later == BOUND_COLUMNS[table], (
            f"{table}: a new column must be nullable and listed in audit.ADDED_LATER")
        assert all(model._meta.columns[c].null for c in later), table
