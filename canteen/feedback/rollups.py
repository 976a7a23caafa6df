"""Vote rollups: counted votes summed per day (and per month), meal, dish, place and shift,
kept by the database.

A large mine casts about a million votes a year; the union's reports read these small tables
instead of the votes (bench/reports.py measures both). Triggers in the database, not the
app, keep them: every insert, every vote replaced or flagged later, every path that writes
`rating` — the API, the demo, a restore, a hand-made fix — moves the sums in the same
transaction — a vote's flag, replacement, score, day, meal, dish, place or shift changed, a
reason chip added or removed — so the reports can never drift from the votes they summarise. The monthly
tables let a report over years read whole months instead of days (reports/figures.py).
`flask --app app rebuild-rollups` recomputes them all from the votes (after a bulk load).
"""
import click
from flask.cli import with_appcontext
from peewee import (
    CharField,
    DateField,
    ForeignKeyField,
    IntegerField,
    PostgresqlDatabase,
)

from ..models import BaseModel, Dish, database


class VoteRollup(BaseModel):
    day = DateField()
    meal = CharField(max_length=16)
    dish = ForeignKeyField(Dish, on_delete="CASCADE")
    place = CharField(max_length=80, default="")  # kiosk or QR card location; "" unknown
    shift = CharField(max_length=16, default="")  # see CANTEEN_SHIFTS; "" none matched
    n = IntegerField(default=0)
    s1 = IntegerField(default=0)
    s2 = IntegerField(default=0)
    s3 = IntegerField(default=0)
    s4 = IntegerField(default=0)
    s5 = IntegerField(default=0)
    flagged = IntegerField(default=0)  # left out: flagged
    replaced = IntegerField(default=0)  # left out: replaced by the same person's later vote

    class Meta:
        indexes = ((("day", "meal", "dish", "place", "shift"), True),)


class TagRollup(BaseModel):
    """Reason chips of counted votes, per day, meal and dish (not per place or shift: that
    would make the table four times larger for a breakdown nobody asked for)."""
    day = DateField()
    meal = CharField(max_length=16)
    dish = ForeignKeyField(Dish, on_delete="CASCADE")
    tag = CharField(max_length=32)
    n = IntegerField(default=0)

    class Meta:
        indexes = ((("day", "meal", "dish", "tag"), True),)


class VoteMonth(VoteRollup):
    """VoteRollup per month: `day` is the month's first day."""

    class Meta:
        table_name = "vote_month"
        indexes = ((("day", "meal", "dish", "place", "shift"), True),)


class TagMonth(TagRollup):
    """TagRollup per month: `day` is the month's first day."""

    class Meta:
        table_name = "tag_month"
        indexes = ((("day", "meal", "dish", "tag"), True),)


MODELS = [VoteRollup, TagRollup, VoteMonth, TagMonth]

COUNTED = "{r}.flag IS NULL AND {r}.replaced_by IS NULL"
KEY = "day, meal, dish_id, place, shift"
TAG_KEY = "day, meal, dish_id, tag"
# (vote table, tag table, the grain's `day` of a vote's day column) on SQLite / PostgreSQL
GRAINS = {
    "sqlite": (("vote_rollup", "tag_rollup", "{c}"), ("vote_month", "tag_month", "date({c}, 'start of month')")),
    "postgres": (("vote_rollup", "tag_rollup", "{c}"), ("vote_month", "tag_month", "date_trunc('month', {c})::date")),
}


def _is(condition):
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _bump_sql(engine, r, d):
    """Statements adding `d` (1 or -1) of the vote in row alias `r` to every rollup: a counted
    vote to n and its face, a flagged or replaced one to those counts, its tags if counted."""
    counted = COUNTED.format(r=r)
    c = _is(counted)
    faces = ", ".join(f"{d} * {c} * {_is(f'{r}.score = {s}')}" for s in range(1, 6))
    qualify = engine == "postgres"  # PostgreSQL wants the target table named; SQLite refuses it
    where = "" if qualify else "WHERE true "  # SQLite needs it to read ON CONFLICT after SELECT
    out = []
    for votes, tags, grain in GRAINS[engine]:
        day = grain.format(c=f"{r}.day")
        sums = ", ".join(f"{col} = {votes + '.' if qualify else ''}{col} + excluded.{col}"
                         for col in ("n", "s1", "s2", "s3", "s4", "s5", "flagged", "replaced"))
        out.append(
            f"INSERT INTO {votes} ({KEY}, n, s1, s2, s3, s4, s5, flagged, replaced) "
            f"SELECT {day}, {r}.meal, {r}.dish_id, COALESCE({r}.place, ''), COALESCE({r}.shift, ''), "
            f"{d} * {c}, {faces}, {d} * {_is(f'{r}.flag IS NOT NULL')}, "
            f"{d} * {_is(f'{r}.flag IS NULL AND {r}.replaced_by IS NOT NULL')} {where}"
            f"ON CONFLICT ({KEY}) DO UPDATE SET {sums}")
        out.append(
            f"INSERT INTO {tags} ({TAG_KEY}, n) SELECT {day}, {r}.meal, {r}.dish_id, rt.tag, {d} "
            f"FROM rating_tag rt WHERE rt.rating_id = {r}.id AND {counted} "
            f"ON CONFLICT ({TAG_KEY}) DO UPDATE SET n = {tags + '.' if qualify else ''}n + excluded.n")
    return out


def _tag_insert_sql(engine, row="NEW", d=1):
    """A reason chip of a counted vote added (row NEW, d 1) or removed (OLD, -1), in both tag
    rollups. A chip removed with its vote (cascade) finds no vote: the vote's trigger did it."""
    qualify = engine == "postgres"
    return [f"INSERT INTO {tags} ({TAG_KEY}, n) SELECT {grain.format(c='r.day')}, r.meal, r.dish_id, {row}.tag, {d} "
            f"FROM rating r WHERE r.id = {row}.rating_id AND {COUNTED.format(r='r')} "
            f"ON CONFLICT ({TAG_KEY}) DO UPDATE SET n = {tags + '.' if qualify else ''}n + excluded.n"
            for _votes, tags, grain in GRAINS[engine]]


# Columns whose change moves a vote between rollup rows (or in or out of the counted ones).
ROLLED = ("replaced_by", "flag", "score", "day", "meal", "dish_id", "place", "shift")


def _vote_only(statements):
    # a new vote has no tags yet: they arrive after it (the rating_tag trigger)
    return [s for s in statements if s.startswith("INSERT INTO vote_")]


def sqlite_triggers():
    moved = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ROLLED)
    return [
        "DROP TRIGGER IF EXISTS rating_rollup_insert",
        f"CREATE TRIGGER rating_rollup_insert AFTER INSERT ON rating "
        f"BEGIN {'; '.join(_vote_only(_bump_sql('sqlite', 'NEW', 1)))}; END",
        # counted → replaced or flagged, or back, or a hand-made fix: move the vote and its tags
        "DROP TRIGGER IF EXISTS rating_rollup_update",
        f"CREATE TRIGGER rating_rollup_update AFTER UPDATE OF {', '.join(ROLLED)} ON rating WHEN {moved} "
        f"BEGIN {'; '.join(_bump_sql('sqlite', 'OLD', -1) + _bump_sql('sqlite', 'NEW', 1))}; END",
        # BEFORE: the vote's tags are still there to subtract
        "DROP TRIGGER IF EXISTS rating_rollup_delete",
        f"CREATE TRIGGER rating_rollup_delete BEFORE DELETE ON rating "
        f"BEGIN {'; '.join(_bump_sql('sqlite', 'OLD', -1))}; END",
        "DROP TRIGGER IF EXISTS rating_tag_rollup_insert",
        f"CREATE TRIGGER rating_tag_rollup_insert AFTER INSERT ON rating_tag "
        f"BEGIN {'; '.join(_tag_insert_sql('sqlite'))}; END",
        "DROP TRIGGER IF EXISTS rating_tag_rollup_delete",
        f"CREATE TRIGGER rating_tag_rollup_delete AFTER DELETE ON rating_tag "
        f"BEGIN {'; '.join(_tag_insert_sql('sqlite', 'OLD', -1))}; END",
    ]


def postgres_triggers():
    columns = ", ".join(ROLLED)
    moved = f"({', '.join('OLD.' + c for c in ROLLED)}) IS DISTINCT FROM ({', '.join('NEW.' + c for c in ROLLED)})"
    return [
        "CREATE OR REPLACE FUNCTION canteen_rollup_bump(r rating, d integer, with_tags boolean) RETURNS void "
        f"AS $$ BEGIN {'; '.join(_vote_only(_bump_sql('postgres', 'r', 'd')))}; "
        f"IF with_tags THEN {'; '.join(s for s in _bump_sql('postgres', 'r', 'd') if s.startswith('INSERT INTO tag_'))}; "
        "END IF; END $$ LANGUAGE plpgsql",
        "CREATE OR REPLACE FUNCTION canteen_rating_rollup() RETURNS trigger AS $$ BEGIN "
        "IF TG_OP = 'INSERT' THEN PERFORM canteen_rollup_bump(NEW, 1, false); RETURN NULL; "
        f"ELSIF TG_OP = 'UPDATE' THEN IF {moved} THEN "
        "PERFORM canteen_rollup_bump(OLD, -1, true); PERFORM canteen_rollup_bump(NEW, 1, true); END IF; RETURN NULL; "
        "ELSE PERFORM canteen_rollup_bump(OLD, -1, true); RETURN OLD; END IF; "
        "END $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS rating_rollup_after ON rating",
        f"CREATE TRIGGER rating_rollup_after AFTER INSERT OR UPDATE OF {columns} ON rating "
        "FOR EACH ROW EXECUTE FUNCTION canteen_rating_rollup()",
        "DROP TRIGGER IF EXISTS rating_rollup_delete ON rating",
        "CREATE TRIGGER rating_rollup_delete BEFORE DELETE ON rating "
        "FOR EACH ROW EXECUTE FUNCTION canteen_rating_rollup()",
        "CREATE OR REPLACE FUNCTION canteen_tag_rollup() RETURNS trigger AS $$ BEGIN "
        f"IF TG_OP = 'INSERT' THEN {'; '.join(_tag_insert_sql('postgres'))}; "
        f"ELSE {'; '.join(_tag_insert_sql('postgres', 'OLD', -1))}; END IF; RETURN NULL; END $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS rating_tag_rollup_insert ON rating_tag",
        "CREATE TRIGGER rating_tag_rollup_insert AFTER INSERT OR DELETE ON rating_tag "
        "FOR EACH ROW EXECUTE FUNCTION canteen_tag_rollup()",
    ]


def engine_of(db):
    db = getattr(db, "obj", None) or db  # a DatabaseProxy holds the real one
    return "postgres" if isinstance(db, PostgresqlDatabase) else "sqlite"


def install_triggers(db):
    for sql in postgres_triggers() if engine_of(db) == "postgres" else sqlite_triggers():
        db.execute_sql(sql)


def rebuild(db=None):
    """Recompute every rollup from the votes, in one transaction; returns the rows written."""
    db = db or database
    counted = COUNTED.format(r="r")
    faces = ", ".join(f"SUM({_is(f'r.score = {s} AND {counted}')})" for s in range(1, 6))
    where = "COALESCE(r.place, ''), COALESCE(r.shift, '')"
    tables = []
    with db.atomic():
        for votes, tags, grain in GRAINS[engine_of(db)]:
            day = grain.format(c="r.day")
            db.execute_sql(f"DELETE FROM {tags}")
            db.execute_sql(f"DELETE FROM {votes}")
            db.execute_sql(
                f"INSERT INTO {votes} ({KEY}, n, s1, s2, s3, s4, s5, flagged, replaced) "
                f"SELECT {day}, r.meal, r.dish_id, {where}, SUM({_is(counted)}), {faces}, "
                f"SUM({_is('r.flag IS NOT NULL')}), SUM({_is('r.flag IS NULL AND r.replaced_by IS NOT NULL')}) "
                f"FROM rating r GROUP BY {day}, r.meal, r.dish_id, {where}")
            db.execute_sql(
                f"INSERT INTO {tags} ({TAG_KEY}, n) SELECT {day}, r.meal, r.dish_id, rt.tag, COUNT(*) "
                f"FROM rating_tag rt JOIN rating r ON r.id = rt.rating_id WHERE {counted} "
                f"GROUP BY {day}, r.meal, r.dish_id, rt.tag")
            tables += [votes, tags]
    return sum(db.execute_sql(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)


@click.command("rebuild-rollups")
@with_appcontext
def rebuild_command():
    """Recompute the report rollups from the votes (after a bulk load or a hand-made fix)."""
    rows = rebuild()
    click.echo(f"Rebuilt the report rollups: {rows} rows.")
