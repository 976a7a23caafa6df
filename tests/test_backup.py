"""Nightly backups while the app writes, and a restore that checks what it restores."""
import datetime as dt
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from canteen import audit
from canteen.jobs import backup
from canteen.models import database

from .conftest import close_pool, make_app


@pytest.fixture
def sqlite_file_app(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/live.db", tmp_path)
    yield app
    close_pool()


def test_backup_under_concurrent_writes_restores_to_a_consistent_database(sqlite_file_app, tmp_path):
    app = sqlite_file_app
    stop = threading.Event()
    written = []

    def writer():
        with app.app_context(), database.connection_context():
            i = 0
            while not stop.is_set():
                audit.record("test", "write", "thing", i)
                written.append(i)
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(written) < 50:  # the writer is under way before the first backup
            assert time.monotonic() < deadline and thread.is_alive(), "the writer did not start"
            time.sleep(0.01)
        with app.app_context(), database.connection_context():
            files = [backup.make_backup(dt.datetime(2026, 11, 26, 2, 30 + n)) for n in range(3)]
    finally:
        stop.set()
        thread.join()
    for f in files:
        with app.app_context():
            ok, message = backup.verify_file(f)
        assert ok, message
        conn = sqlite3.connect(f)
        count = conn.execute("SELECT count(*) FROM audit_entry").fetchone()[0]
        conn.close()
        assert 0 < count <= len(written)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["restore", files[0]])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output
    with app.app_context(), database.connection_context():
        assert audit.verify().ok
    assert list(tmp_path.glob("live.db.before-restore-*"))


def test_restore_refuses_a_running_app_and_a_tampered_file(sqlite_file_app, tmp_path):
    app = sqlite_file_app
    with app.app_context(), database.connection_context():
        audit.record("test", "write", "thing", 1)
        good = backup.make_backup(dt.datetime(2026, 11, 26, 2, 30))
    pid_file = tmp_path / "instance" / backup.PID_FILE
    pid_file.write_text(str(os.getpid()))  # this very process is "serving"
    result = app.test_cli_runner().invoke(args=["restore", good])
    assert result.exit_code != 0 and "running" in result.output
    pid_file.unlink()
    bad = tmp_path / "tampered.db"
    bad.write_bytes(Path(good).read_bytes())
    conn = sqlite3.connect(bad)
    conn.execute("UPDATE audit_entry SET actor = 'someone else'")
    conn.commit()
    conn.close()
    result = app.test_cli_runner().invoke(args=["restore", str(bad)])
    assert result.exit_code != 0 and "audit chain is broken" in result.output


def test_backups_are_pruned_to_daily_and_weekly_retention(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    start = dt.datetime(2026, 1, 1, 2, 30)
    for day in range(120):
        (folder / f"canteen-{start + dt.timedelta(days=day):%Y%m%d-%H%M}.db").write_bytes(b"x")
    backup.prune(folder, daily=14, weekly=8)
    kept = sorted(p.name for p in folder.glob("*.db"))
    assert len(kept) <= 14 + 8 and kept[-1].startswith("canteen-20260430")


@pytest.mark.timeout(60)
def test_a_failed_backup_is_tried_again_the_same_day_and_its_alert_resolved(sqlite_file_app, tmp_path):
    from canteen.jobs.models import Alert, JobRun
    from canteen.jobs.scheduler import run_job

    app = sqlite_file_app
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be")
    app.config["BACKUP_DIR"] = str(blocker / "backups")  # mkdir fails: NotADirectoryError
    night = dt.datetime(2026, 11, 30, 2, 30)

    def state():
        with app.app_context(), database.connection_context():
            run = JobRun.get((JobRun.job == "backup") & (JobRun.slot == "2026-11-30"))
            alert = Alert.get(Alert.key == "job:backup:2026-11-30")
            return run.outcome, run.attempts, alert.resolved_at is not None, alert.resolved_by

    assert run_job(app, "backup", night) is None
    assert state() == ("failed", 1, False, None)
    assert run_job(app, "backup", night + dt.timedelta(hours=1)) is None  # still failing: the 2nd try
    assert state() == ("failed", 2, False, None)

    blocker.unlink()
    blocker.mkdir()  # the disk is back
    written = run_job(app, "backup", night + dt.timedelta(hours=2))  # the 3rd and last try
    assert written == str(blocker / "backups" / "canteen-20261130-0430.db")
    assert state() == ("ok", 3, True, "a later attempt succeeded")
    assert sorted(p.name for p in (blocker / "backups").iterdir()) == [
        "canteen-20261130-0430.db", "canteen-20261130-0430.db.audit-head.json"]  # no half file
    assert run_job(app, "backup", night + dt.timedelta(hours=3)) is None  # done for the day
    assert state()[:2] == ("ok", 3)


@pytest.mark.timeout(60)
def test_a_backup_that_keeps_failing_stops_after_its_attempts_with_the_alert_open(sqlite_file_app, tmp_path):
    from canteen.jobs.models import Alert, JobRun
    from canteen.jobs.scheduler import run_job

    app = sqlite_file_app
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app.config.update(BACKUP_DIR=str(blocker / "backups"), BACKUP_ATTEMPTS=2)
    night = dt.datetime(2026, 11, 30, 2, 30)
    for hour in range(4):
        assert run_job(app, "backup", night + dt.timedelta(hours=hour)) is None
    blocker.unlink()
    blocker.mkdir()
    assert run_job(app, "backup", night + dt.timedelta(hours=5)) is None  # the day's tries are spent
    assert not (blocker / "backups").exists()
    with app.app_context(), database.connection_context():
        run = JobRun.get((JobRun.job == "backup") & (JobRun.slot == "2026-11-30"))
        assert (run.outcome, run.attempts) == ("failed", 2)
        assert Alert.get(Alert.key == "job:backup:2026-11-30").resolved_at is None
    # the next day is a new slot: tried at once
    assert run_job(app, "backup", night + dt.timedelta(days=1)) == str(blocker / "backups" / "canteen-20261201-0230.db")


def as_before_the_upgrade(path):
    """Make a backup file look taken by the last release: without what migrations 0015
    (suggestions), 0019 (staff.shift) and 0021 (an amendment's event times) added."""
    conn = sqlite3.connect(path)
    for table in ("suggestion_step", "suggestion_backer", "suggestion"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("ALTER TABLE staff DROP COLUMN shift")
    conn.execute("ALTER TABLE safety_amendment DROP COLUMN occurred_before")
    conn.execute("ALTER TABLE safety_amendment DROP COLUMN occurred_after")
    conn.execute("DELETE FROM schema_migration WHERE name LIKE '0015%' OR name LIKE '0019%' OR name LIKE '0021%'")
    conn.commit()
    conn.close()


def test_a_backup_from_before_the_upgrade_restores_and_is_upgraded(sqlite_file_app, tmp_path):
    """The release installations run made its backups without the tables and columns added
    since: restoring one checks its rows as they were stored (was: no such column staff.shift)."""
    from canteen.safety.models import Staff

    app = sqlite_file_app
    with app.app_context(), database.connection_context():
        Staff.create(name="王师傅", job="厨师")
        audit.seal("test", "test.staff")
        old = backup.make_backup(dt.datetime(2026, 11, 26, 2, 30))
    as_before_the_upgrade(old)
    tampered = tmp_path / "tampered.db"
    tampered.write_bytes(Path(old).read_bytes())
    conn = sqlite3.connect(tampered)
    conn.execute("UPDATE staff SET name = '李四'")
    conn.commit()
    conn.close()
    result = app.test_cli_runner().invoke(args=["restore", str(tampered)])
    assert result.exit_code != 0 and "audit chain is broken" in result.output  # old rows still checked
    result = app.test_cli_runner().invoke(args=["restore", old])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output
    from canteen.db import migrate
    assert len(migrate()) == 3  # the next start upgrades the restored database
    with app.app_context(), database.connection_context():
        assert audit.verify().ok
        assert [(s.name, s.shift) for s in Staff.select()] == [("王师傅", None)]
