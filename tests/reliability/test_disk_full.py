"""The database on a small disk that fills up: a clear 503, nothing corrupted, and service back
by itself once space is freed. A backup that fails leaves no half file and raises an alert."""
import datetime as dt
import subprocess
import time

import pytest

from canteen.jobs.models import Alert, JobRun
from canteen.jobs.scheduler import run_job
from canteen.models import database

from ..conftest import close_pool, make_app
from .conftest import answer, dish_ids, fill, load_ratings, request, sqlite_rows, vote


@pytest.mark.timeout(120)
def test_a_full_disk_answers_503_and_service_resumes_when_space_is_freed(server, small_disk):
    disk = small_disk("64m")
    s = server(instance=disk)
    dishes = dish_ids(s.port)
    assert vote(s.port, dishes, 0)[1][0] == 201
    filler = fill(disk, disk / "canteen.db")

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

    filler.unlink()  # space freed: no restart, the queued votes go through, each once
    for body in queued:
        status, reply, _h = answer(s.port, "POST", "/api/v1/ratings", body, {"X-Canteen-Kiosk": "disk"})
        assert status == 201, reply
        stored[body["client_id"]] = reply["id"]
        assert answer(s.port, "POST", "/api/v1/ratings", body, {"X-Canteen-Kiosk": "disk"})[:2] == (200, reply)
    s.stop()
    db = disk / "canteen.db"
    assert sqlite_rows(db, "PRAGMA integrity_check") == [("ok",)]
    rows = {cid: i for cid, i in load_ratings(db, "rel").items()}
    assert {cid: rows.get(cid) for cid in stored} == stored
    assert "Traceback" not in s.output()


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
    written = run_job(app, "backup", now + dt.timedelta(days=1))
    assert sorted(p.name for p in backups.iterdir()) == ["canteen-20261201-0300.db",
                                                         "canteen-20261201-0300.db.audit-head.json"]
    assert written == str(backups / "canteen-20261201-0300.db")
    assert sqlite_rows(written, "PRAGMA integrity_check") == [("ok",)]
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
