"""PostgreSQL stopped and started again under load (a cluster of the test's own): requests fail
fast with 503, never hang or 500, and the app recovers without a restart."""
import time

import pytest

from .conftest import Load, bound, dish_ids, load_seconds, request


def stored(url, prefix):
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT client_id, id FROM rating WHERE client_id LIKE %s", (prefix + "-%",))
            return dict(cur.fetchall())
    finally:
        conn.close()


@pytest.mark.timeout(bound(150))
def test_postgresql_stopped_and_started_under_load(server, postgres):
    s = server(CANTEEN_DATABASE_URL=postgres.url)
    load = Load(s.port, dish_ids(s.port), clients=16, prefix="pg", timeout=15).start()
    time.sleep(load_seconds(2))
    postgres.stop("fast")
    down = time.monotonic()
    time.sleep(2)
    # while it is down: a clear 503 with Retry-After, at once
    started = time.monotonic()
    status, body = request(s.port, "GET", "/api/v1/menu/current")
    assert (status, body["field"]) == (503, None) and time.monotonic() - started < 2, (status, body)
    assert request(s.port, "GET", "/kiosk", headers={"Accept": "text/html"})[0] == 503  # pages too
    postgres.start()
    up = time.monotonic()
    recovered = None
    while time.monotonic() - up < 20:
        if request(s.port, "GET", "/api/v1/menu/current")[0] == 200:
            recovered = time.monotonic() - up
            break
        time.sleep(0.1)
    assert recovered is not None, s.output()[-3000:]
    time.sleep(load_seconds(2))
    load.stop()
    assert s.process.poll() is None  # the same process throughout
    statuses = load.statuses()
    assert set(statuses) == {201, 503}, statuses  # no 500, no dropped connection, no timeout
    assert statuses[503] > 0 and statuses[201] > 100
    for body in load.bodies(503):
        assert body["error"].startswith("The database is unavailable")
    acknowledged = load.acknowledged()
    rows = stored(postgres.url, "pg")
    assert {cid: rows.get(cid) for cid in acknowledged} == acknowledged
    # a vote stored just as the connection died and answered 503: its kiosk's retry gets 200, once
    for cid in set(rows) - set(acknowledged):
        kiosk, body = load.sent[cid]
        status, reply = request(s.port, "POST", "/api/v1/ratings", body, {"X-Canteen-Kiosk": kiosk})
        assert (status, reply["id"]) == (200, rows[cid])
    assert stored(postgres.url, "pg") == rows
    assert "Traceback" not in s.output()
    print(f"down {up - down:.1f} s; answering again {recovered:.2f} s after PostgreSQL started; {statuses}")


def cluster_pids(cluster):
    """The postmaster and every backend of the test's own cluster."""
    import os

    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                        pids.append(int(entry))
            except OSError:
                pass  # ended meanwhile
    return pids


@pytest.mark.timeout(bound(90))
def test_frozen_postgresql_answers_503_within_the_wait_bound(server, postgres):
    """SIGSTOP leaves the sockets open: the kernel ACKs, TCP never gives up. Without a bound of
    its own on waiting, every request would hang (the client's 15 s below would expire)."""
    import os
    import signal
    import threading

    wait = 2
    s = server(CANTEEN_DATABASE_URL=postgres.url, CANTEEN_DB_WAIT_SECONDS=str(wait))
    dishes = dish_ids(s.port)  # a few connections in the pool, each with its backend
    pids = cluster_pids(postgres)
    answers = []

    def ask(n):
        began = time.monotonic()
        if n % 2:
            status, body = request(s.port, "POST", "/api/v1/ratings",
                                   {"dish_id": dishes[0], "score": 4, "client_id": f"frozen-{n}"},
                                   {"X-Canteen-Kiosk": f"frozen-{n}"}, timeout=15)
        else:
            status, body = request(s.port, "GET", "/api/v1/menu/current", timeout=15)
        answers.append((status, body, time.monotonic() - began))

    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        askers = [threading.Thread(target=ask, args=(n,)) for n in range(6)]
        for t in askers:
            t.start()
        for t in askers:
            t.join(20)
        # and once more now that the frozen connections were dropped: a new connect waits too
        ask(0)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    assert len(answers) == 7
    for status, body, took in answers:
        assert status == 503 and body["error"].startswith("The database is unavailable"), (status, body)
        assert took < wait + 1.5, [(a[0], a[2]) for a in answers]
    up = time.monotonic()
    while request(s.port, "GET", "/api/v1/menu/current")[0] != 200:
        assert time.monotonic() - up < 10, s.output()[-3000:]
        time.sleep(0.1)
    status, body = request(s.port, "POST", "/api/v1/ratings",
                           {"dish_id": dishes[0], "score": 5, "client_id": "after-thaw"},
                           {"X-Canteen-Kiosk": "thawed"})
    assert status == 201, body
    assert s.process.poll() is None and "Traceback" not in s.output()
    print(f"503s in {max(a[2] for a in answers):.2f} s at most; answering {time.monotonic() - up:.2f} s after SIGCONT")
