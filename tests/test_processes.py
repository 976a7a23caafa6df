"""The scheduler runs with `python app.py` alone, or as `flask scheduler` beside a web process
that does not run it: real processes, the database tells what ran."""
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def job_runs(db, wait=20, jobs=("missed_logs",)):
    """The jobs that have run, once all of `jobs` have (empty if they do not within `wait`)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            conn = sqlite3.connect(db)
            rows = {r[0] for r in conn.execute("SELECT job FROM job_run WHERE finished_at IS NOT NULL")}
            conn.close()
            if set(jobs) <= rows:
                return rows
        except sqlite3.OperationalError:
            pass
        time.sleep(0.3)
    return set()


def start(args, tmp_path, **env):
    environment = dict(os.environ, CANTEEN_INSTANCE_PATH=str(tmp_path), CANTEEN_DEMO="0",
                       CANTEEN_PORT=str(free_port()), **env)
    return subprocess.Popen(args, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_python_app_py_runs_the_scheduler_in_the_same_process(tmp_path):
    server = start([sys.executable, "app.py"], tmp_path)
    try:
        assert "missed_logs" in job_runs(tmp_path / "canteen.db")
        assert (tmp_path / "canteen.pid").read_text() == str(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    assert not (tmp_path / "canteen.pid").exists()  # a clean stop removes it


def test_web_without_scheduler_and_flask_scheduler_beside_it(tmp_path):
    web = start([sys.executable, "app.py"], tmp_path, CANTEEN_SCHEDULER="0")
    try:
        time.sleep(3)
        assert job_runs(tmp_path / "canteen.db", wait=1) == set()
        scheduler = start([sys.executable, "-m", "flask", "--app", "app", "scheduler"], tmp_path)
        try:
            assert "missed_logs" in job_runs(tmp_path / "canteen.db")
        finally:
            scheduler.terminate()
            scheduler.wait(10)
    finally:
        web.terminate()
        web.wait(10)


def test_a_killed_scheduler_catches_up_on_restart_without_repeating(tmp_path):
    db = tmp_path / "canteen.db"
    first = start([sys.executable, "-m", "flask", "--app", "app", "scheduler"], tmp_path)
    try:
        ran = job_runs(db)
        assert "missed_logs" in ran
        for _ in range(30):  # let today's catch-up finish: nothing new for 2 s
            time.sleep(2)
            now_ran = job_runs(db)
            if now_ran == ran:
                break
            ran = now_ran
    finally:
        first.kill()  # no clean shutdown
        first.wait(10)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM job_run WHERE job = 'escalate_overdue'")  # as if it was down this hour
    conn.commit()
    before = dict(conn.execute("SELECT job, count(*) FROM job_run GROUP BY job").fetchall())
    conn.close()
    second = start([sys.executable, "-m", "flask", "--app", "app", "scheduler"], tmp_path)
    try:
        deadline = time.monotonic() + 20
        after = {}
        while time.monotonic() < deadline:
            conn = sqlite3.connect(db)
            after = dict(conn.execute("SELECT job, count(*) FROM job_run GROUP BY job").fetchall())
            conn.close()
            if after.get("escalate_overdue"):
                break
            time.sleep(0.3)
    finally:
        second.terminate()
        second.wait(10)
    assert after.get("escalate_overdue") == 1  # caught up, once
    # the once-a-day jobs the first scheduler ran are not run again (the every-minute ones,
    # missed_logs and deliver, rightly run again when the restart crosses into a new minute)
    for job in {"backup", "daily_digest", "expiry_warnings", "weekly_digest"} & set(before):
        assert after.get(job) == before[job], job
