"""Rate limits shared by every server process: Flask-Limiter over a storage all of them see.

By default the counters live in a small SQLite file beside the database
(instance/ratelimits.db): every process of one installation shares it, and it needs no other
service. CANTEEN_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379 (or any storage Flask-Limiter
knows) moves them elsewhere, e.g. when the processes run on several machines.
"""
import os
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItemPerMinute
from limits.storage import Storage


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file, one atomic statement per hit."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri=None, wrap_exceptions=False, **options):
        self.path = urlparse(uri).path if uri else ":memory:"
        self.local = threading.local()
        self.hits = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def db(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=wal")
            conn.execute("PRAGMA synchronous=off")  # counters need not survive a power cut
            conn.execute("CREATE TABLE IF NOT EXISTS counter (key TEXT PRIMARY KEY, count INTEGER NOT NULL, "
                         "expires REAL NOT NULL)")
            self.local.conn = conn
        return conn

    def incr(self, key, expiry, amount=1):
        now = time.time()
        self.hits += 1
        if self.hits % 1000 == 0:  # forget old windows now and then
            self.db().execute("DELETE FROM counter WHERE expires <= ?", (now,))
        (count,) = self.db().execute(
            "INSERT INTO counter (key, count, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN expires <= ?4 THEN excluded.count ELSE count + excluded.count END, "
            "expires = CASE WHEN expires <= ?4 THEN excluded.expires ELSE expires END RETURNING count",
            (key, amount, now + expiry, now)).fetchone()
        return count

    def get(self, key):
        row = self.db().execute("SELECT count FROM counter WHERE key = ? AND expires > ?",
                                (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key):
        row = self.db().execute("SELECT expires FROM counter WHERE key = ?", (key,)).fetchone()
        return row[0] if row else time.time()

    def check(self):
        return self.db().execute("SELECT 1").fetchone() == (1,)

    def reset(self):
        return self.db().execute("DELETE FROM counter").rowcount

    def clear(self, key):
        self.db().execute("DELETE FROM counter WHERE key = ?", (key,))


def init_app(app):
    app.config.setdefault("RATELIMIT_STORAGE_URI", "")
    if not app.config["RATELIMIT_STORAGE_URI"]:
        app.config["RATELIMIT_STORAGE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "ratelimits.db")
    app.config["RATELIMIT_HEADERS_ENABLED"] = False
    # one Limiter per app (tests make many apps in one process, each with its own storage)
    limiter = Limiter(get_remote_address, app=app, strategy="fixed-window")
    app.extensions["canteen_limiter"] = limiter
    # No route carries a limit decorator (the views count through `hit`), so Flask-Limiter's
    # per-request hooks (check every route against no limits, add no headers, reset its
    # context) only cost time: ~0.4 ms of each vote.
    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        hooks[None] = [f for f in hooks.get(None, []) if not _belongs_to(f, limiter)]


def _belongs_to(hook, limiter):
    return getattr(hook, "__self__", None) is limiter or limiter in getattr(hook, "args", ())

def hit(key, per_minute):
    """Count one request for `key`; seconds to wait if that exceeds `per_minute`, else 0."""
    if not per_minute:
        return 0
    item = RateLimitItemPerMinute(per_minute)
    strategy = current_app.extensions["canteen_limiter"].limiter
    if strategy.hit(item, key):
        return 0
    reset, _remaining = strategy.get_window_stats(item, key)
    return max(1, int(reset - time.time()) + 1)
