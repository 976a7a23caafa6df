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
