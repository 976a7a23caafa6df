"""The database: SQLite by default, any peewee URL; pooled connections, migrations, CLI.

Connections come from a pool: a request checks one out and gives it back when it ends.
Opening a fresh SQLite connection per request re-applies the pragmas every time and
collapsed under 64 concurrent clients (../shared/stack-notes.md); a pooled one is reused
by whichever server thread needs it next, so the cost is paid once per connection.
"""
import contextlib
import os
import select
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import click
from flask import current_app
from flask.cli import with_appcontext
from playhouse import db_url
from playhouse.migrations import Runner
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from .models import database

MIGRATIONS = Path(__file__).parent / "migrations"

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    # A rating is acknowledged only after it is on disk, power cut included.
    "synchronous": "full",
    "busy_timeout": 5000,
    "foreign_keys": 1,
}


_sqlite_writer = threading.Lock()


@contextlib.contextmanager
def write_transaction():
    """A transaction for writes. On SQLite, the threads of this process take turns first:
    SQLite allows one writer, and threads that collide inside it back off in sleeps of up
    to 100 ms (its busy handler), which is what made p99 latency explode under load."""
    if isinstance(database.obj, PooledSqliteDatabase):
        with _sqlite_writer, database.atomic("IMMEDIATE") as txn:
            yield txn
    else:
        with database.atomic() as txn:
            yield txn


def lock_row(model, ident):
    """Inside a write transaction: hold the row `ident` of `model` until it ends, so that two
    requests changing the same thing take turns, each seeing what the other wrote. SQLite's
    writers take turns already (write_transaction); PostgreSQL locks the row (FOR UPDATE)."""
    if not isinstance(database.obj, PooledSqliteDatabase):
        model.select(model._meta.primary_key).where(model._meta.primary_key == ident).for_update().execute()


_statements = {}


def prepared(name, build, params):
    """The SQL of the peewee query `build(*params)`, built once per kind of database and
    reused: every vote runs the same few queries, and building them again each time cost
    more than running them (bench/load.py). The first build checks that the query takes
    `params` in the order given, so the cached SQL can be run with fresh ones."""
    key = (name, type(database.obj))
    sql = _statements.get(key)
    if sql is None:
        sql, own = build(*params).sql()
        if list(own) != list(params):
            raise ValueError(f"{name}: the query takes its parameters as {own!r}, not {list(params)!r}")
        _statements[key] = sql
    return sql


def execute(name, build, params):
    """Run the peewee query `build(*params)` from SQL built once (see `prepared`): a cursor."""
    return database.execute_sql(prepared(name, build, params), params)


def inserted_id(cursor):
    """The id of the row an INSERT run through `execute` added (PostgreSQL: its RETURNING)."""
    return cursor.fetchone()[0] if database.returning_clause else cursor.lastrowid


class _Pending:
    __slots__ = ("work", "result", "error", "done")

    def __init__(self, work):
        self.work, self.result, self.error, self.done = work, None, None, False


_queue = []
_queue_lock = threading.Lock()


def grouped_write(work):
    """Run `work()` in a write transaction and return its result once committed.

    On SQLite, concurrent callers share commits (group commit): whoever gets the writer's
    turn runs every piece of work waiting by then, each in its own savepoint (one that fails,
    e.g. a duplicate client_id, is rolled back alone and raises in its own caller), and
    commits them together. Nothing is answered before the commit that holds it is on disk
    (synchronous=FULL); the fsync, the dearest part of a commit, is paid once per group.
    The work runs on the committing thread: it may read the app's config, not the request.
    """
    if not isinstance(database.obj, PooledSqliteDatabase):
        with database.atomic():
            return work()
    mine = _Pending(work)
    with _queue_lock:
        _queue.append(mine)
    with _sqlite_writer:
        if not mine.done:  # nobody took it yet: commit everything waiting, this one included
            with _queue_lock:
                group = _queue[:]
                _queue.clear()
            _commit_group(group)
    if mine.error is not None:
        raise mine.error
    return mine.result


def _commit_group(group):
    try:
        with database.atomic("IMMEDIATE"):
            for pending in group:
                # a savepoint per piece of work, in plain SQL (peewee's nested atomic() costs more)
                database.execute_sql("SAVEPOINT grouped")
                try:
                    pending.result = pending.work()
                except Exception as e:  # noqa: BLE001  handed to the caller that sent it
                    database.execute_sql("ROLLBACK TO SAVEPOINT grouped")
                    pending.error = e
                database.execute_sql("RELEASE SAVEPOINT grouped")
    except Exception as e:  # the commit itself failed (disk full, I/O): nothing was stored
        for pending in group:
            pending.result, pending.error = None, e
    finally:
        for pending in group:
            pending.done = True


def db_time(value):
    """A naive UTC datetime as a query parameter for plain SQL: SQLite compares the text
    peewee stored (str of the datetime), PostgreSQL takes the object."""
    return str(value) if isinstance(database.obj, PooledSqliteDatabase) else value


def default_url(instance_path):
    return "sqlite:///" + os.path.join(instance_path, "canteen.db")


_wait = {"seconds": 30.0, "connect": 5.0, "silent_until": 0.0}
_checking = threading.local()


def _wait_for_postgresql(conn):
    """psycopg2's wait callback: wait for the server's answer at most DB_WAIT_SECONDS.

    A frozen server (stopped process, hung host) keeps its socket open, the kernel ACKs, and no
    TCP timeout ever fires: a query would wait for ever and hold a server thread. Raising here
    makes psycopg2 close the connection (green_panic), so the pool drops it and the request gets
    its 503. The bound counts from the start of each call (a query, a commit); a connect has
    its own, connect_timeout (libpq ignores it once psycopg2 does not block)."""
    import psycopg2
    from psycopg2 import extensions

    limit = _wait["seconds"]
    quick = conn.status == extensions.STATUS_SETUP or getattr(_checking, "on", False)
    if quick:
        limit = min(limit, _wait["connect"]) if limit > 0 else _wait["connect"]
        # the pool connects and pings pooled connections under one lock: while the server does
        # not answer, each waiting request would take its turn to wait the whole bound. One
        # tries at a time; for `limit` seconds after one timed out, the others fail at once.
        if time.monotonic() < _wait["silent_until"]:
            raise psycopg2.OperationalError("PostgreSQL did not answer a moment ago (CANTEEN_DB_WAIT_SECONDS)")
    deadline = time.monotonic() + limit if limit > 0 else None
    poller = select.poll()  # not select.select: a busy process may have fds past 1024
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        if state not in (extensions.POLL_READ, extensions.POLL_WRITE):
            raise psycopg2.OperationalError(f"unexpected poll state {state!r}")
        fd = conn.fileno()  # may change while connecting (another address tried)
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            if quick:
                _wait["silent_until"] = time.monotonic() + limit
            raise psycopg2.OperationalError(
                f"PostgreSQL did not answer within {limit:g} s (CANTEEN_DB_WAIT_SECONDS)")
        poller.register(fd, select.POLLIN if state == extensions.POLL_READ else select.POLLOUT)
        poller.poll(None if left is None else max(1, int(left * 1000)))
        poller.unregister(fd)


class BoundedPostgresqlDatabase(PooledPostgresqlDatabase):
    """The pool pings a pooled connection (SELECT 1) before handing it out: with the connect's
    bound, not a query's, since it holds the pool's lock meanwhile."""

    def _is_closed(self, conn):
        _checking.on = True
        try:
            return super()._is_closed(conn)
        finally:
            _checking.on = False


def bound_waits(seconds, connect_seconds=5):
    """Bound every wait for PostgreSQL in this process (0: no bound). psycopg2's callback is
    process-wide; with it psycopg2 talks to the server without blocking (its "green" mode)."""
    from psycopg2 import extensions

    _wait["seconds"], _wait["connect"] = float(seconds), float(connect_seconds)
    extensions.set_wait_callback(_wait_for_postgresql)


def open_database(url, pool_size=32, wait_seconds=None, max_pages=0):
    """A pooled peewee database for `url` (sqlite:///path or postgresql://…); on SQLite,
    `max_pages` caps the file's size (every connection: max_page_count is per connection)."""
    scheme = urlparse(url).scheme.split("+")[0]
    params = db_url.parse(url)
    name = params.pop("database")
    if scheme == "sqlite":
        if name not in ("", ":memory:"):
            Path(name).parent.mkdir(parents=True, exist_ok=True)
            for existing in (Path(name), Path(name + "-wal"), Path(name + "-shm")):
                if existing.exists():  # votes and accounts: for canteen's own user only
                    existing.chmod(0o600)
        pragmas = dict(SQLITE_PRAGMAS, **({"max_page_count": max_pages} if max_pages else {}))
        return PooledSqliteDatabase(name, pragmas=pragmas, max_connections=pool_size,
                                    timeout=10, check_same_thread=False, **params)
    if scheme in ("postgres", "postgresql"):
        # a server that does not answer (network gone) fails the request in seconds (a 503),
        # instead of waiting for TCP to give up; ?connect_timeout= in the URL overrides it
        params.setdefault("connect_timeout", 5)
        if wait_seconds is not None:
            bound_waits(wait_seconds, float(params["connect_timeout"]))
        return BoundedPostgresqlDatabase(name, max_connections=pool_size, timeout=10, **params)
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")


def migrate(db=None):
    """Apply pending migrations; returns the names applied."""
    db = db or database
    with db.connection_context():
        return Runner(db, str(MIGRATIONS)).up()


def init_app(app):
    url = app.config["DATABASE_URL"] or default_url(app.instance_path)
    app.config["DATABASE_URL"] = url
    database.initialize(open_database(url, app.config["DATABASE_POOL_SIZE"], app.config["DB_WAIT_SECONDS"],
                                      app.config["SQLITE_MAX_PAGE_COUNT"]))
    migrate()

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _release(_exc):
        if not database.is_closed():
            database.close()  # back to the pool

    app.cli.add_command(init_db_command)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database schema (safe to run again)."""
    applied = migrate()
    click.echo(f"Applied {len(applied)} migration(s) to {current_app.config['DATABASE_URL']}.")
