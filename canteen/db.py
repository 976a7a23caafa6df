"""The database: SQLite by default, any peewee URL; pooled connections, migrations, CLI.

Connections come from a pool: a request checks one out and gives it back when it ends.
Opening a fresh SQLite connection per request re-applies the pragmas every time and
collapsed under 64 concurrent clients (../shared/stack-notes.md); a pooled one is reused
by whichever server thread needs it next, so the cost is paid once per connection.
"""
import contextlib
import os
import threading
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


def open_database(url, pool_size=32):
    """A pooled peewee database for `url` (sqlite:///path or postgresql://…)."""
    scheme = urlparse(url).scheme.split("+")[0]
    params = db_url.parse(url)
    name = params.pop("database")
    if scheme == "sqlite":
        if name not in ("", ":memory:"):
            Path(name).parent.mkdir(parents=True, exist_ok=True)
            for existing in (Path(name), Path(name + "-wal"), Path(name + "-shm")):
                if existing.exists():  # votes and accounts: for canteen's own user only
                    existing.chmod(0o600)
        return PooledSqliteDatabase(name, pragmas=SQLITE_PRAGMAS, max_connections=pool_size,
                                    timeout=10, check_same_thread=False, **params)
    if scheme in ("postgres", "postgresql"):
        # a server that does not answer (network gone) fails the request in seconds (a 503),
        # instead of waiting for TCP to give up; ?connect_timeout= in the URL overrides it
        params.setdefault("connect_timeout", 5)
        return PooledPostgresqlDatabase(name, max_connections=pool_size, timeout=10,
                                        **params)
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")


def migrate(db=None):
    """Apply pending migrations; returns the names applied."""
    db = db or database
    with db.connection_context():
        return Runner(db, str(MIGRATIONS)).up()


def init_app(app):
    url = app.config["DATABASE_URL"] or default_url(app.instance_path)
    app.config["DATABASE_URL"] = url
    database.initialize(open_database(url, app.config["DATABASE_POOL_SIZE"]))
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
