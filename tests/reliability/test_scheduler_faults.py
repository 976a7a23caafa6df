"""The scheduler process killed with SIGKILL in the middle of a backup and of a digest: on
restart each job runs once, and no slot runs twice (even with two schedulers restarted at once)."""
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import pytest

from .conftest import ROOT, sqlite_rows


def noon_zone():
    """A time zone where it is now about noon: every job of the day is due at catch-up."""
    offset = 12 - dt.datetime.now(dt.timezone.utc).hour
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"


def empty_installation(tmp_path):
    """A real (not demo) SQLite installation's instance folder, migrated: (folder, database)."""
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANTEEN_")}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "init-db"], cwd=ROOT, check=True, timeout=60,
                   env=dict(env, PYTHONPATH=str(ROOT), CANTEEN_INSTANCE_PATH=str(instance), CANTEEN_DEMO="0"),
                   capture_output=True)
    return instance, instance / "canteen.db"


def scheduler(instance, log, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CANTEEN_")}
    environment.update(PYTHONPATH=str(ROOT), CANTEEN_INSTANCE_PATH=str(instance), CANTEEN_DEMO="0",
                       CANTEEN_TIMEZONE=noon_zone(), **env)
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler"], cwd=ROOT,
                                env=environment, stdout=out, stderr=subprocess.STDOUT)


def wait_for(condition, seconds, step=0.002):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return None


def finished(db, job):
    try:
        return sqlite_rows(db, "SELECT outcome FROM job_run WHERE job = ? AND finished_at IS NOT NULL", (job,))
    except Exception:
        return None


@pytest.mark.timeout(120)
def test_killed_during_a_backup_the_next_scheduler_backs_up_once(tmp_path):
    instance, db = empty_installation(tmp_path)
    # ballast, so that the backup takes long enough to be killed in the middle of it
    sqlite_rows(db, "CREATE TABLE ballast (b BLOB)")
    sqlite_rows(db, "INSERT INTO ballast SELECT randomblob(4000) FROM (WITH RECURSIVE n(i) AS "
                    "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 15000) SELECT i FROM n)")
    backups = instance / "backups"

    first = scheduler(instance, tmp_path / "first.log")
    try:
        part = wait_for(lambda: next(backups.glob("*.part"), None) if backups.exists() else None, 60)
        assert part is not None, (tmp_path / "first.log").read_text()
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait(10)
    assert sqlite_rows(db, "SELECT outcome FROM job_run WHERE job = 'backup'") == [("running",)]
    assert ".part" in [p.suffix for p in backups.iterdir()]  # the half file the kill left

    # two schedulers restarted at the same time: one takes the claim over, the other leaves it
    again = [scheduler(instance, tmp_path / f"again{i}.log") for i in range(2)]
    try:
        assert wait_for(lambda: finished(db, "backup"), 60, step=0.1) == [("ok",)]
        assert wait_for(lambda: finished(db, "deliver") and all(
            "canteen scheduler running" in (tmp_path / f"again{i}.log").read_text() for i in range(2)), 60, 0.1)
    finally:
        for p in again:
            p.terminate()
            p.wait(10)
    logs = [(tmp_path / f"again{i}.log").read_text() for i in range(2)]
    assert sum("taking over the claim" in text and "job backup" in text for text in logs) == 1, logs
    files = sorted(p.name for p in backups.iterdir())
    assert len(files) == 2 and files[0].endswith(".db") and files[1] == files[0] + ".audit-head.json", files
    assert sqlite_rows(backups / files[0], "PRAGMA integrity_check") == [("ok",)]
    assert sqlite_rows(db, "SELECT job, count(*) FROM job_run GROUP BY job HAVING count(*) > 1 "
                           "AND job NOT IN ('missed_logs', 'deliver')") == []


@pytest.mark.timeout(120)
def test_killed_during_a_digest_the_next_scheduler_stores_it_once(tmp_path, postgres):
    import psycopg2

    instance = tmp_path / "instance"
    env = dict({k: v for k, v in os.environ.items() if not k.startswith("CANTEEN_")}, PYTHONPATH=str(ROOT),
               CANTEEN_INSTANCE_PATH=str(instance), CANTEEN_DEMO="0", CANTEEN_DATABASE_URL=postgres.url)
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "init-db"], cwd=ROOT, check=True, timeout=60,
                   env=env, capture_output=True)
    watch = psycopg2.connect(postgres.url)
    watch.autocommit = True
    lock = psycopg2.connect(postgres.url)

    def rows(sql):
        with watch.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def digest_waiting():
        # the digest claimed its slot and now waits for the table we hold: it is in the middle
        return rows("SELECT outcome FROM job_run WHERE job = 'daily_digest'") == [("running",)] and rows(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%digest%'")

    try:
        with lock.cursor() as cur:
            cur.execute("LOCK TABLE digest IN ACCESS EXCLUSIVE MODE")
        first = scheduler(instance, tmp_path / "first.log", CANTEEN_DATABASE_URL=postgres.url)
        try:
            assert wait_for(digest_waiting, 60, step=0.05), (tmp_path / "first.log").read_text()
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            first.kill()
            first.wait(10)
        # the killed scheduler's server process would finish its insert once the lock goes:
        # end it as a dead client's connection is ended
        rows("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        lock.rollback()
        assert rows("SELECT count(*) FROM digest") == [(0,)]
        assert rows("SELECT outcome FROM job_run WHERE job = 'daily_digest'") == [("running",)]

        again = [scheduler(instance, tmp_path / f"again{i}.log", CANTEEN_DATABASE_URL=postgres.url) for i in range(2)]
        try:
            assert wait_for(lambda: rows("SELECT outcome FROM job_run WHERE job IN ('daily_digest', 'backup') "
                                         "AND finished_at IS NOT NULL") == [("ok",), ("ok",)], 60, 0.1)
        finally:
            for p in again:
                p.terminate()
                p.wait(10)
        logs = [(tmp_path / f"again{i}.log").read_text() for i in range(2)]
        assert sum("job daily_digest" in text and "taking over the claim" in text for text in logs) == 1, logs
        monday = dt.datetime.now(ZoneInfo(noon_zone())).weekday() == 0  # the weekly one is due on Mondays
        assert rows("SELECT kind, count(*) FROM digest GROUP BY kind ORDER BY kind") == \
            [("daily", 1)] + [("weekly", 1)] * monday
        period, body = rows("SELECT period, body FROM digest WHERE kind = 'daily'")[0]
        assert json.loads(body)["day"] == period
    finally:
        lock.close()
        watch.close()


@pytest.mark.timeout(30)
def test_a_claim_is_taken_over_only_from_a_process_gone_or_past_its_lease(tmp_path):
    import socket

    from canteen.jobs import tasks
    from canteen.jobs.models import JobRun
    from canteen.models import database, utcnow

    from ..conftest import close_pool, make_app

    app = make_app(f"sqlite:///{tmp_path}/canteen.db", tmp_path, JOB_LEASE_MINUTES=120)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = socket.gethostname()
    alive = tasks.process_identity(os.getppid())  # the shell or pytest's parent: running
    now = utcnow()
    with app.app_context(), database.connection_context():
        for slot, holder, started in [("gone", f"{host}:{gone.stdout.strip()}:1", now),
                                      ("alive", alive, now),
                                      ("reused-pid", f"{host}:{os.getppid()}:not-its-start", now),
                                      ("elsewhere", "other-host:1:1", now - dt.timedelta(minutes=119)),
                                      ("elsewhere-lapsed", "other-host:1:1", now - dt.timedelta(minutes=121)),
                                      ("finished", f"{host}:{gone.stdout.strip()}:1", now)]:
            JobRun.create(job="backup", slot=slot, started_at=started, owner=holder,
                          outcome="ok" if slot == "finished" else "running")
        taken = {slot: tasks.claim("backup", slot, now) for slot in
                 ("gone", "alive", "reused-pid", "elsewhere", "elsewhere-lapsed", "finished")}
        assert taken == {"gone": True, "alive": False, "reused-pid": True, "elsewhere": False,
                         "elsewhere-lapsed": True, "finished": False}
        assert tasks.claim("backup", "gone", now) is False  # taken once: now held by this live process
        assert JobRun.get(JobRun.slot == "gone").owner == tasks.owner()
    close_pool()


@pytest.mark.timeout(90)
def test_killed_mid_send_a_delivery_is_marked_unknown_and_raised_never_resent(tmp_path):
    """The webhook receives an alert and, before it answers, the scheduler is killed. Did it
    arrive? The sender cannot know: the next run marks it "unknown" and tells the
    administrator, and never sends it again by itself (at most once); resending is by hand."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from canteen.jobs import delivery
    from canteen.jobs.delivery import Delivery
    from canteen.jobs.models import Alert
    from canteen.models import database

    from ..conftest import close_pool, make_app

    received, hold = [], threading.Event()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            if len(received) == 1:
                hold.wait(30)  # the first one: taken in, never answered while the sender lives
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_port}/hook"
    instance, db = empty_installation(tmp_path)
    sqlite_rows(db, "INSERT INTO alert (key, kind, role, message_zh, message_en, created_at) "
                    "VALUES ('cold-1', 'missed_log', 'manager', '冷库未记录', 'cold room not logged', '2026-11-30 08:00:00')")
    first = scheduler(instance, tmp_path / "first.log", CANTEEN_WEBHOOK_URL=hook)
    try:
        assert wait_for(lambda: received, 60, 0.01), (tmp_path / "first.log").read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
        hold.set()
    assert received[0]["message_en"] == "cold room not logged"
    assert sqlite_rows(db, "SELECT d.status FROM delivery d JOIN alert a ON a.id = d.item_id "
                           "WHERE d.item_type = 'alert' AND a.key = 'cold-1'") == [("sending",)]

    app = make_app(f"sqlite:///{db}", tmp_path, WEBHOOK_URL=hook)
    try:
        with app.app_context(), database.connection_context():
            sent, failed = delivery.deliver()  # the next run: the cut-off send is found
            cut = Delivery.get((Delivery.item_type == "alert")
                               & (Delivery.item_id == Alert.get(Alert.key == "cold-1").id))
            assert cut.status == "unknown" and "mid-send" in cut.last_error
            alert = Alert.get(Alert.key == f"delivery-unknown:{cut.id}")
            assert (alert.kind, alert.role, alert.resolved_at) == ("delivery_unknown", "admin", None)
            assert f"flask deliveries resend {cut.id}" in alert.message_en
            assert failed == 0 and sent >= 1  # that alert goes out (and the day's digest); not the cut-off one
            assert delivery.deliver() == (0, 0)  # nor later
            messages = [r.get("message_en") for r in received]
            assert messages.count("cold room not logged") == 1 and messages.count(alert.message_en) == 1
        result = app.test_cli_runner().invoke(args=["deliveries", "resend", str(cut.id)])
        assert result.exit_code == 0, result.output
        with app.app_context(), database.connection_context():
            assert delivery.deliver() == (1, 0)  # sent again because a person said so
            assert Delivery.get_by_id(cut.id).status == "sent"
            assert Alert.get(Alert.key == f"delivery-unknown:{cut.id}").resolved_by == "resent by hand"
        assert [r.get("message_en") for r in received].count("cold room not logged") == 2
        again = app.test_cli_runner().invoke(args=["deliveries", "resend", str(cut.id)])
        assert again.exit_code != 0 and "nothing to resend" in again.output
    finally:
        close_pool()
        server.shutdown()
        server.server_close()
