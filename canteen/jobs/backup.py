"""Nightly backups with SQLite's online backup API, and a restore that refuses to overwrite a
database in use and checks the audit chain of what it restores."""
import datetime as dt
import json
import os
import shutil
import sqlite3
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from peewee import SqliteDatabase

from .. import audit
from ..models import database

PID_FILE = "canteen.pid"  # written by `python app.py` while it serves


def sqlite_path():
    from playhouse.pool import PooledSqliteDatabase
    if isinstance(database.obj, PooledSqliteDatabase):
        return Path(database.obj.database)
    return None


def backup_dir():
    """CANTEEN_BACKUP_DIR, else instance/backups (better on another disk than the database's)."""
    return Path(current_app.config["BACKUP_DIR"] or Path(current_app.instance_path) / "backups")


def make_backup(now):
    """Copy the live database consistently (it may be written meanwhile); keep the newest
    BACKUP_DAILY nightly copies and one per week for BACKUP_WEEKLY weeks. Returns the file."""
    source = sqlite_path()
    if source is None:
        return "skipped: PostgreSQL is backed up by the operator with pg_dump (see README)"
    folder = backup_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("canteen-*.part*"):  # left by a run that was killed: never a backup
        stale.unlink()
    target = folder / f"canteen-{now:%Y%m%d-%H%M}.db"
    tmp = target.with_suffix(".part")
    head = head_file(target)
    try:
        src = sqlite3.connect(str(source))
        dst = sqlite3.connect(str(tmp))
        try:
            src.backup(dst)  # page by page, consistent even while the app writes
        finally:
            dst.close()
            src.close()
        head_tmp = tmp.with_suffix(".head.part")
        head_tmp.write_text(json.dumps(audit.signed_head(copy_head(tmp))))  # the copy's own head
        os.replace(head_tmp, head)
        tmp.replace(target)  # last: a backup file always has its head beside it
    except BaseException:  # disk full, I/O error, killed: no half file is left to be restored
        for part in (tmp, Path(f"{tmp}-journal"), tmp.with_suffix(".head.part")):
            part.unlink(missing_ok=True)
        if not target.exists():
            head.unlink(missing_ok=True)
        raise
    prune(folder, current_app.config["BACKUP_DAILY"], current_app.config["BACKUP_WEEKLY"])
    return str(target)


def copy_head(path):
    """The audit head of a backup file (read with sqlite3: the models stay on the live database)."""
    conn = sqlite3.connect(str(path))
    try:
        count, = conn.execute("SELECT count(*) FROM audit_entry").fetchone()
        last = conn.execute("SELECT id, hash FROM audit_entry ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    return {"count": count, "last_id": last[0] if last else 0, "hash": last[1] if last else audit.GENESIS}


def prune(folder, daily, weekly):
    files = sorted(folder.glob("canteen-*.db"), reverse=True)
    keep = set(files[:daily])
    weeks = {}
    for f in files:
        stamp = dt.datetime.strptime(f.stem.split("-", 1)[1], "%Y%m%d-%H%M")
        weeks.setdefault(stamp.isocalendar()[:2], f)  # newest of each week
    keep |= set(sorted(weeks.values(), reverse=True)[:weekly])
    for f in files:
        if f not in keep:
            f.unlink()
            head_file(f).unlink(missing_ok=True)


def server_running(instance_path):
    pid_file = Path(instance_path) / PID_FILE
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().strip()), 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return False
    return True


def head_file(path):
    """Where a backup keeps the audit head it was taken with."""
    return Path(str(path) + ".audit-head.json")


def verify_file(path):
    """(ok, message) for a SQLite file: integrity check, then the keyed audit chain and every
    row it covers, against the head recorded beside the backup when there is one."""
    conn = sqlite3.connect(str(path))
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            return False, "the file fails SQLite's integrity check"
        conn.execute("SELECT count(*) FROM audit_entry").fetchone()
    except sqlite3.DatabaseError as e:
        return False, f"not a canteen database: {e}"
    finally:
        conn.close()
    anchor = audit.read_anchor(head_file(path)) if head_file(path).exists() else {}
    db = SqliteDatabase(str(path))  # verified with the models bound to it: run while nothing serves
    try:
        report = audit.verify_database(db, anchor)
    finally:
        db.close()
    if not report.ok:
        return False, f"its audit chain is broken: {audit.describe(report.first)}"
    return True, f"{report.entries} audit entries verified"


@click.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(backup_file):
    """Replace the SQLite database with BACKUP_FILE (the current one is kept aside)."""
    target = sqlite_path()
    if target is None:
        raise click.ClickException("restore is for SQLite; restore PostgreSQL with pg_restore")
    if server_running(current_app.instance_path):
        raise click.ClickException("canteen is running against this database: stop it first")
    ok, message = verify_file(backup_file)
    if not ok:
        raise click.ClickException(f"{backup_file} was not restored: {message}")
    database.obj.close_all()
    aside = target.with_name(target.name + f".before-restore-{dt.datetime.now():%Y%m%d%H%M%S}")
    if target.exists():
        shutil.move(str(target), str(aside))
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup_file, target)
    with database.connection_context():
        audit.write_anchor(force=True)  # the anchor now follows the restored chain
    click.echo(f"Restored {backup_file} ({message}); the previous database is {aside.name}. "
               "The audit anchor now records the restored chain's head.")
