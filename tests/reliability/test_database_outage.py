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
