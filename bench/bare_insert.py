"""The stack's own limit, for bench/load.py: a bare Flask endpoint doing one parameterised INSERT
into SQLite with canteen's pragmas, served by waitress with canteen's settings.

    python bench/bare_insert.py PORT DATABASE [THREADS]

POST /api/v1/ratings reads the JSON body, inserts (dish_id, score, client_id, created_at) and
commits before answering 201 — what every vote costs at the least, without any of its rules.
Each waitress thread keeps its own connection open (as canteen's pool does), and writers are
serialised in-process like canteen's (SQLite has one writer at a time anyway).
"""
import datetime as dt
import json
import sqlite3
import sys
import threading

from flask import Flask, jsonify, request
from waitress import serve

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from canteen.db import SQLITE_PRAGMAS  # noqa: E402  the same pragmas as the app's

PORT, DATABASE = int(sys.argv[1]), sys.argv[2]
THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 16  # bench/load.py passes the app's
local = threading.local()
writer = threading.Lock()
app = Flask(__name__)


def connection():
    if not hasattr(local, "db"):
        local.db = sqlite3.connect(DATABASE, timeout=10, isolation_level=None, check_same_thread=False)
        for key, value in SQLITE_PRAGMAS.items():
            local.db.execute(f"PRAGMA {key} = {value}")
    return local.db


@app.post("/api/v1/ratings")
def rate():
    body = json.loads(request.get_data())
    db = connection()
    with writer:
        db.execute("BEGIN IMMEDIATE")
        cursor = db.execute("INSERT INTO rating (dish_id, score, client_id, created_at) VALUES (?, ?, ?, ?)",
                            (body["dish_id"], body["score"], body["client_id"],
                             dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(" ")))
        db.execute("COMMIT")
    return jsonify(id=cursor.lastrowid), 201


@app.get("/up")
def up():
    return "ok"


if __name__ == "__main__":
    setup = sqlite3.connect(DATABASE)
    setup.execute("PRAGMA journal_mode = wal")
    setup.execute("CREATE TABLE IF NOT EXISTS rating (id INTEGER PRIMARY KEY, dish_id INTEGER NOT NULL, "
                  "score INTEGER NOT NULL, client_id TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)")
    setup.close()
    serve(app, host="127.0.0.1", port=PORT, threads=THREADS, connection_limit=256, channel_timeout=30,
          backlog=1024, ident="bare")
