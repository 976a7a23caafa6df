"""The database on a small disk that fills up: a clear 503, nothing corrupted, and service back
by itself once space is freed. A backup that fails leaves no half file and raises an alert."""
import datetime as dt
import shutil
import subprocess
import time

import pytest

from canteen.jobs.models import Alert, JobRun
from canteen.jobs.scheduler import run_job
from canteen.models import database

from ..conftest import close_pool, make_app
from .conftest import Server, answer, dish_ids, fill, load_ratings, request, sqlite_rows, vote


@pytest.fixture
def stopped_after():
    """stopped_after(server): stopped when the test ends, whatever happens."""
    made = []
    yield made.append
    for s in made:
        s.stop()


def can_mount():
    """Whether this process may mount a tmpfs (root, and a kernel that lets it)."""
    import os
    import tempfile

    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as where:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", where], capture_output=True).returncode:
            return False
        subprocess.run(["umount", where], check=False)
    return True


@pytest.mark.timeout(120)
@pytest.mark.parametrize("limit", ["tmpfs", "max_page_count"])
def test_a_full_disk_answers_503_and_service_resumes_when_space_is_freed(server, small_disk, demo_instance,
                                                                         tmp_path, limit, stopped_after):
    """On a tmpfs the test mounts (root) the disk really fills up; where mounting is not allowed
    SQLite's max_page_count caps the database instead (CANTEEN_SQLITE_MAX_PAGE_COUNT), filled by
    the votes: the same 503, no corruption, and service back once pages are freed."""
    if limit == "tmpfs":
        if not can_mount():
            pytest.skip("mounting a tmpfs is not allowed here: the max_page_count run covers it")
        disk = small_disk("64m")
        s = server(instance=disk)
        db = disk / "canteen.db"
        dishes = dish_ids(s.port)
        assert vote(s.port, dishes, 0)[1][0] == 201
        filler = fill(disk, db)
        free = filler.unlink
    else:
        instance = tmp_path / "capped"
        shutil.copytree(demo_instance, instance)
        db = instance / "canteen.db"
        # ballast the test can drop to free pages, as a full disk's filler is deleted
        sqlite_rows(db, "CREATE TABLE ballast (b BLOB)")
        sqlite_rows(db, "INSERT INTO ballast SELECT randomblob(3000) FROM "
                        "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) SELECT i FROM n)")
        (pages,), = sqlite_rows(db, "PRAGMA page_count")
        # started here, not by the `server` fixture, which would copy the demo database over the ballast
        s = Server(instance, CANTEEN_SQLITE_MAX_PAGE_COUNT=str(pages + 8))  # room for a few votes
        stopped_after(s)
        s.start()
        dishes = dish_ids(s.port)
        assert vote(s.port, dishes, 0)[1][0] == 201

        def free():
            sqlite_rows(db, "DROP TABLE ballast")  # its pages go to the free list, for the votes

    stored, queued, refusal = {}, [], None
    deadline = time.monotonic() + 60
    n = 1
    while time.monotonic() < deadline and len(queued) < 20:  # the free pages inside the file go first
        body, (status, reply, headers) = vote(s.port, dishes, n)
        n += 1
        if status == 201:
            stored[body["client_id"]] = reply["id"]
            continue
        assert status == 503, (status, reply)
        refusal = (reply, headers)
        queued.append(body)  # what the kiosk keeps in its outbox
    assert len(queued) == 20, "the disk never filled up"
    reply, headers = refusal
    assert reply["error"].startswith("The database is unavailable") and reply["field"] is None
    assert headers["Retry-After"] == "5"
    assert request(s.port, "GET", "/api/v1/menu/current")[0] == 200  # reading still works
    assert s.process.poll() is None

    free()  # space freed: no restart, the queued votes go through, each once
    for body in queued:
        status, reply, _h = answer(s.port, "POST", "/api/v1/ratings", body, {"X-Canteen-Kiosk": "disk"})
        assert status == 201, reply
        stored[body["client_id"]] = reply["id"]
        assert answer(s.port, "POST", "/api/v1/ratings", body, {"X-Canteen-Kiosk": "disk"})[:2] == (200, reply)
    s.stop()
    assert sqlite_rows(db, "PRAGMA integrity_check") == [("ok",)]
    rows = {cid: i for cid, i in load_ratings(db, "rel").items()}
    assert {cid: rows.get(cid) for cid in stored} == stored
    assert "Traceback" not in s.output()
    verified = s.flask("verify-audit", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.timeout(60)
def test_a_backup_that_fails_for_space_leaves_no_half_file_and_raises_an_alert(tmp_path, small_disk):
    backups = small_disk("256k", "backups")
    app = make_app(f"sqlite:///{tmp_path}/canteen.db", tmp_path, BACKUP_DIR=str(backups))
    with app.app_context(), database.connection_context():
        # a database larger than the backup disk
        database.execute_sql("CREATE TABLE ballast (b BLOB)")
        database.execute_sql("INSERT INTO ballast SELECT randomblob(4096) FROM "
                             "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
                             "SELECT i FROM n)")
    now = dt.datetime(2026, 11, 30, 3, 0)
    assert run_job(app, "backup", now) is None  # failed: logged, the scheduler goes on
    assert list(backups.iterdir()) == []  # no .part, no head without its file
    with app.app_context(), database.connection_context():
        run = JobRun.get((JobRun.job == "backup") & (JobRun.slot == "2026-11-30"))
        assert run.outcome == "failed" and "full" in run.detail
        alert = Alert.get(Alert.key == "job:backup:2026-11-30")
        assert (alert.kind, alert.role) == ("job_failed", "admin")
        assert "full" in alert.message_en

    subprocess.run(["mount", "-o", "remount,size=8m", str(backups)], check=True)
    written = run_job(app, "backup", now + dt.timedelta(hours=1))  # the same day's next run tries again
    assert sorted(p.name for p in backups.iterdir()) == ["canteen-20261130-0400.db",
                                                         "canteen-20261130-0400.db.audit-head.json"]
    assert written == str(backups / "canteen-20261130-0400.db")
    assert sqlite_rows(written, "PRAGMA integrity_check") == [("ok",)]
    with app.app_context(), database.connection_context():
        run = JobRun.get((JobRun.job == "backup") & (JobRun.slot == "2026-11-30"))
        assert (run.outcome, run.attempts) == ("ok", 2)
        assert Alert.get(Alert.key == "job:backup:2026-11-30").resolved_by == "a later attempt succeeded"
    close_pool()


@pytest.mark.timeout(30)
def test_a_mistake_in_sql_is_not_taken_for_an_outage(tmp_path):
    from peewee import OperationalError, SqliteDatabase

    from canteen.web import is_outage

    def failure(db, sql):
        try:
            db.execute_sql(sql)
        except OperationalError as e:
            return e
        raise AssertionError("no error")

    assert is_outage(failure(SqliteDatabase(":memory:"), "SELECT nope FROM nothing")) is False  # a bug: 500
    assert is_outage(failure(SqliteDatabase(str(tmp_path / "gone" / "x.db")), "SELECT 1")) is True
