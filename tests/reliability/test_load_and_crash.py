"""Sustained load and a kill -9 in the middle of it: nothing acknowledged is lost, nothing twice."""
import time

import pytest

from .conftest import (Load, bound, clients, dish_ids, load_ratings, load_seconds, new_client_id, request,
                       sqlite_rows)


def check_stored(load, db, prefix):
    """Every 201 or 200 is a row with the id it was answered with; every row was answered."""
    stored = load_ratings(db, prefix)
    acknowledged = load.acknowledged()
    missing = {cid: i for cid, i in acknowledged.items() if stored.get(cid) != i}
    assert missing == {}, f"{len(missing)} acknowledged votes are not in the database"
    return stored, acknowledged


@pytest.mark.timeout(bound(120))
def test_sustained_load_every_answer_is_a_row(server):
    s = server()
    load = Load(s.port, dish_ids(s.port), clients=clients(32), prefix="load").start()
    time.sleep(load_seconds(6))
    load.stop()
    statuses = load.statuses()
    assert set(statuses) == {201}, statuses  # no 5xx, no dropped connection, no debounce merge
    assert statuses[201] > 200  # it really was under load
    durations = sorted(load.durations)
    p99 = durations[int(len(durations) * 0.99)]
    print(f"{statuses[201]} votes from {load.clients} kiosks, p99 {p99 * 1000:.0f} ms")
    stored, acknowledged = check_stored(load, s.instance / "canteen.db", "load")
    assert set(stored) == set(acknowledged)  # no row that nobody was told about
    assert "database is locked" not in s.output()
    assert "Traceback" not in s.output()


@pytest.mark.timeout(bound(150))
def test_kill_9_under_load_loses_nothing_acknowledged(server):
    s = server()
    db = s.instance / "canteen.db"
    token = s.flask("create-token", "thermometer", "--role", "manager").stdout.strip()
    unit, staff = sqlite_rows(db, "SELECT u.id, u.checker_id FROM storage_unit u WHERE u.kind = 'cold_room' "
                                  "ORDER BY u.id LIMIT 1")[0]
    load = Load(s.port, dish_ids(s.port), clients=clients(32), prefix="crash").start()
    logs = []
    deadline = time.monotonic() + load_seconds(3)
    while time.monotonic() < deadline:  # a manager's storage readings between the votes
        status, body = request(s.port, "POST", "/api/v1/safety/storage",
                               {"unit": unit, "temperature": 3.5, "off_floor_cm": 15, "off_wall_cm": 10,
                                "labels_ok": True, "fifo_ok": True, "raw_cooked_separated": True,
                                "expired_found": 0, "inspected_by": staff},
                               {"Authorization": f"Bearer {token}"})
        assert status == 201, body
        logs.append(body["id"])
    s.kill()
    load.stop()
    statuses = load.statuses()
    assert statuses.get(201, 0) > 100 and not [k for k in statuses if k not in (201, None)], statuses
    check_stored(load, db, "crash")
    assert sqlite_rows(db, "PRAGMA integrity_check") == [("ok",)]
    stored_logs = {i for i, in sqlite_rows(db, "SELECT id FROM safety_record WHERE kind = 'storage'")}
    assert set(logs) <= stored_logs
    assert "audit" in s.flask("verify-audit").stdout.lower()

    # a kiosk's queued vote whose answer was lost in the crash is replayed after the restart:
    # answered 200 with the same id, stored once
    s.start()
    unanswered = [cid for cid, answers in load.answers.items() if all(st is None for st, _b in answers)]
    replay = unanswered[:5] + list(load.acknowledged())[:5]
    assert len(replay) == 10
    for cid in replay:
        kiosk, body = load.sent[cid]
        first = request(s.port, "POST", "/api/v1/ratings", body, {"X-Canteen-Kiosk": kiosk})
        again = request(s.port, "POST", "/api/v1/ratings", body, {"X-Canteen-Kiosk": kiosk})
        assert first[0] in (200, 201) and again[0] == 200 and again[1]["id"] == first[1]["id"], (first, again)
        if cid in load.acknowledged():
            assert first == (200, again[1]) and first[1]["id"] == load.acknowledged()[cid]
        assert sqlite_rows(db, "SELECT count(*) FROM rating WHERE client_id = ?", (cid,)) == [(1,)]
    fresh = new_client_id()
    assert request(s.port, "POST", "/api/v1/ratings",
                   {"dish_id": dish_ids(s.port)[0], "score": 4, "client_id": fresh})[0] == 201
