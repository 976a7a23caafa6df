"""Real processes on loopback: `python app.py` started, loaded, killed and restarted by the test.

Every test here is bounded (pytest-timeout) and short in CI; CANTEEN_RELIABILITY_SECONDS makes
the load last longer (e.g. 60 for the benchmark's run).
"""
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("CANTEEN_RELIABILITY_SECONDS", "0") or 0)
CLIENTS = int(os.environ.get("CANTEEN_RELIABILITY_CLIENTS", "0") or 0)


def load_seconds(ci_default):
    """How long a load lasts: CANTEEN_RELIABILITY_SECONDS when set, else the short CI run."""
    return SECONDS or ci_default


def bound(ci_seconds):
    """A test's time limit: its CI bound, plus room for the longer loads CANTEEN_RELIABILITY_SECONDS asks."""
    return ci_seconds + 3 * SECONDS


def clients(ci_default):
    """How many kiosks vote at once: CANTEEN_RELIABILITY_CLIENTS (64 for the long run), else the CI number."""
    return CLIENTS or ci_default


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python app.py` on a free loopback port with its own instance folder (demo canteen)."""

    def __init__(self, instance, **env):
        self.instance = Path(instance)
        self.port = free_port()
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CANTEEN_")}
        self.env = dict(inherited, PYTHONPATH=str(ROOT), CANTEEN_INSTANCE_PATH=str(instance),
                        CANTEEN_PORT=str(self.port), CANTEEN_SCHEDULER="0",
                        # every client here shares one loopback address
                        CANTEEN_RATE_LIMIT_ADDRESS_PER_MINUTE="0", **env)
        self.process = None
        self.log = self.instance / "server.log"

    def start(self, wait=30):
        self.instance.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server ended with {self.process.returncode}:\n{self.output()}")
            try:
                status, _body = request(self.port, "GET", "/api/v1/menu/current", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer within {wait} s:\n{self.output()}")

    def kill(self):
        """SIGKILL: no cleanup, no flush, as a power cut would leave it (the OS keeps what was fsynced)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def flask(self, *args, check=True):
        """`flask --app app …` against the same instance and database."""
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result


def request(port, method, path, body=None, headers=None, timeout=10, connection=None):
    """(status, parsed JSON or text); reuses `connection` when given (keep-alive)."""
    status, parsed, _headers = answer(port, method, path, body, headers, timeout, connection)
    return status, parsed


def answer(port, method, path, body=None, headers=None, timeout=10, connection=None):
    """(status, parsed JSON or text, response headers)."""
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = json.dumps(body) if body is not None else None
    hdrs = {"Accept": "application/json", **({"Content-Type": "application/json"} if data else {}),
            **(headers or {})}
    try:
        conn.request(method, path, body=data, headers=hdrs)
        response = conn.getresponse()
        raw = response.read()
    finally:
        if connection is None:
            conn.close()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw.decode(errors="replace")
    return response.status, parsed, dict(response.getheaders())


@pytest.fixture
def small_disk(tmp_path):
    """mount(size) → a fresh tmpfs of that size (the tests run as root in CI); unmounted after."""
    from ..conftest import require

    mounted = []

    def mount(size, name="disk"):
        where = tmp_path / name
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
                              capture_output=True, text=True)
        require(done.returncode == 0, f"the disk-full tests mount a tmpfs and need root: {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder, database=None):
    """Write a file until the disk is full; returns it (delete it to free the space). With
    `database`, its WAL is emptied first, so that the next write needs space the disk lacks."""
    if database is not None:
        assert sqlite_rows(database, "PRAGMA wal_checkpoint(TRUNCATE)")[0][0] == 0  # not busy
    filler = Path(folder) / "filler"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError:
                pass
    return filler


@pytest.fixture(scope="session")
def demo_instance(tmp_path_factory):
    """An instance folder with the demo canteen seeded once (seeding takes seconds); each
    test's server starts from a copy of it."""
    folder = tmp_path_factory.mktemp("demo") / "instance"
    Server(folder).start(wait=60).stop()
    for leftover in ("server.log", "canteen.pid"):
        (folder / leftover).unlink(missing_ok=True)
    return folder


@pytest.fixture
def server(tmp_path, request):
    """start(instance=None, **CANTEEN_ env) → a started Server: on SQLite from a copy of the
    seeded demo instance, on CANTEEN_DATABASE_URL seeding its own."""
    made = []

    def start(instance=None, **env):
        instance = Path(instance or tmp_path / f"instance{len(made)}")
        if "CANTEEN_DATABASE_URL" not in env:
            shutil.copytree(request.getfixturevalue("demo_instance"), instance, dirs_exist_ok=True)
        s = Server(instance, **env)
        made.append(s)
        return s.start()

    yield start
    for s in made:
        s.stop()


def dish_ids(port):
    status, menu = request(port, "GET", "/api/v1/menu/current")
    assert status == 200, menu
    ids = [d["id"] for d in menu["dishes"]]
    assert ids, "the demo menu has dishes now"
    return ids


def new_client_id():
    return "rel-" + uuid.uuid4().hex


def vote(port, dishes, n, kiosk="disk"):
    """(body, answer) of the n-th vote of a kiosk: a different dish or face each time."""
    body = {"dish_id": dishes[n % len(dishes)], "score": 1 + n // len(dishes) % 5, "client_id": new_client_id()}
    return body, answer(port, "POST", "/api/v1/ratings", body, {"X-Canteen-Kiosk": kiosk})


class Load:
    """`clients` kiosks voting as fast as the server answers, each on its own keep-alive
    connection, until stopped. Records every answer by client_id."""

    def __init__(self, port, dishes, clients, prefix="load", timeout=10):
        self.port, self.dishes, self.clients, self.prefix, self.timeout = port, dishes, clients, prefix, timeout
        self.answers = {}  # client_id -> list of (status, body)
        self.sent = {}  # client_id -> (kiosk, body): what a kiosk's outbox would replay
        self.durations = []  # seconds each answered vote took
        self.lock = threading.Lock()
        self.running = threading.Event()
        self.threads = []

    def _client(self, n):
        kiosk = f"{self.prefix}-{n}"
        conn = None
        i = 0
        while self.running.is_set():
            client_id = f"{kiosk}-{uuid.uuid4().hex[:12]}"
            # a different dish or face each time: the kiosk debounce never merges two votes
            body = {"dish_id": self.dishes[i % len(self.dishes)], "score": 1 + (i // len(self.dishes)) % 5,
                    "client_id": client_id}
            i += 1
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                began = time.monotonic()
                answer = request(self.port, "POST", "/api/v1/ratings", body,
                                 {"X-Canteen-Kiosk": kiosk}, connection=conn)
                self.durations.append(time.monotonic() - began)
            except (OSError, http.client.HTTPException) as e:
                answer = (None, repr(e))  # not acknowledged: a kiosk keeps it queued
                if conn:
                    conn.close()
                conn = None
                time.sleep(0.05)
            with self.lock:
                self.sent[client_id] = (kiosk, body)
                self.answers.setdefault(client_id, []).append(answer)
        if conn:
            conn.close()

    def start(self):
        self.running.set()
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)]
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.running.clear()
        for t in self.threads:
            t.join(self.timeout + 5)

    def statuses(self):
        out = {}
        for answers in self.answers.values():
            for status, _body in answers:
                out[status] = out.get(status, 0) + 1
        return out

    def acknowledged(self):
        """{client_id: rating id} of every vote the server answered 201 or 200."""
        return {cid: body["id"] for cid, answers in self.answers.items()
                for status, body in answers if status in (200, 201)}

    def bodies(self, status):
        return [body for answers in self.answers.values() for s, body in answers if s == status]


def sqlite_rows(db, sql, params=()):
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        with conn:  # commits a write
            return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def load_ratings(db, prefix):
    """{client_id: id} of the ratings the load stored (the demo's own votes left out)."""
    return dict(sqlite_rows(db, "SELECT client_id, id FROM rating WHERE client_id LIKE ?", (prefix + "-%",)))


PG_BIN = Path(os.environ.get("CANTEEN_PG_BIN", "/usr/lib/postgresql/15/bin"))


class Cluster:
    """A PostgreSQL cluster of the test's own (initdb in a temporary folder, a free port): the
    tests stop and start it; the shared server is never touched."""

    def __init__(self, folder):
        self.data = Path(folder) / "pgdata"
        self.log = Path(folder) / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args, timeout=60):
        # initdb refuses root; -l keeps pg_ctl from holding our pipes open
        command = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout, check=True)

    def init(self):
        subprocess.run(["install", "-d", "-o", "postgres", "-g", "postgres", "-m", "700", str(self.data)],
                       check=True) if os.geteuid() == 0 else self.data.mkdir(mode=0o700)
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self.log.touch()
        if os.geteuid() == 0:
            shutil.chown(self.log, "postgres", "postgres")
        return self.start()

    def start(self):
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-o",
                          f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        return self

    def stop(self, mode="fast"):
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture
def postgres():
    import tempfile

    from ..conftest import require

    require((PG_BIN / "initdb").exists(),
            f"the PostgreSQL outage tests start their own cluster with {PG_BIN}/initdb "
            "(apt-get install postgresql, or set CANTEEN_PG_BIN)")
    folder = Path(tempfile.mkdtemp(prefix="canteen-pg-"))  # pytest's own folders are root's alone
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    try:
        cluster = Cluster(folder).init()
        yield cluster
        try:
            cluster.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped by the test
    finally:
        shutil.rmtree(folder, ignore_errors=True)
