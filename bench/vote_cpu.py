"""CPU time of one vote, in-process, against the bare insert's: the part of the vote path that
a busy machine does not blur.

    python bench/vote_cpu.py [--votes 2000] [--json FILE]

Both apps are driven through Flask's test client, one request at a time, each request a new
vote committed with synchronous=FULL: canteen's POST /api/v1/ratings from a paired kiosk (demo
menu, a reason chip, every rule) and bench/bare_insert.py's endpoint (one INSERT). The clock
is the process's CPU time (user + system, fsync waits excluded), so the ratio holds on a
machine shared with other work, where wall-clock rates under wrk swing from run to run.
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import runpy
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def vote(client, i, tag, dishes):
    body = json.dumps({"dish_id": dishes[i % len(dishes)], "score": i % 5 + 1, "tags": ["tasty"],
                       "channel": "kiosk", "client_id": f"{tag}-vote-{i:06d}"})
    r = client.post("/api/v1/ratings", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.get_data()


def cpu_ms(client, n, tag, dishes):
    for i in range(100):  # warm up: SQL built, caches filled
        vote(client, i, tag + "w", dishes)
    started = time.process_time()
    for i in range(n):
        vote(client, i, tag, dishes)
    return 1000 * (time.process_time() - started) / n


def bare_client(folder):
    sys.argv = ["bare_insert.py", "0", str(folder / "bare.db")]
    db = sqlite3.connect(folder / "bare.db")
    db.execute("PRAGMA journal_mode = wal")
    db.execute("CREATE TABLE rating (id INTEGER PRIMARY KEY, dish_id INTEGER NOT NULL, score INTEGER NOT NULL, "
               "client_id TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)")
    db.close()
    return runpy.run_path(str(ROOT / "bench" / "bare_insert.py"), run_name="bare")["app"].test_client()


def canteen_client(folder):
    from canteen import create_app

    app = create_app({"DEMO": True, "INSTANCE_PATH": str(folder)})
    client = app.test_client()
    dishes = [d["id"] for d in client.get("/api/v1/menu/current").get_json()["dishes"]]
    credential = "bench-" + os.urandom(16).hex()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(" ")
    db = sqlite3.connect(folder / "canteen.db")
    db.execute("INSERT INTO kiosk (name, location, device_hash, paired_at, created_at, card_reader) "
               "VALUES ('bench-cpu', '', ?, ?, ?, 0)", (hashlib.sha256(credential.encode()).hexdigest(), now, now))
    db.commit()
    db.close()
    client.set_cookie("canteen_kiosk", credential)
    return client, dishes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=2000)
    parser.add_argument("--json", help="also write the numbers to this file")
    opts = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="canteen-cpu-"))
    bare = cpu_ms(bare_client(folder), opts.votes, "bare", [1])
    client, dishes = canteen_client(folder)
    canteen = cpu_ms(client, opts.votes, "canteen", dishes)
    print(f"CPU per vote: bare insert {bare:.2f} ms, canteen {canteen:.2f} ms "
          f"(canteen could take {bare / canteen:.2f}× the bare insert's votes/s where CPU is the limit)")
    shutil.rmtree(folder, ignore_errors=True)
    if opts.json:
        Path(opts.json).write_text(json.dumps({"bare_cpu_ms": bare, "canteen_cpu_ms": canteen}))


if __name__ == "__main__":
    main()
