"""Vote rollups: counted votes summed per day, meal, dish, place and shift, kept by the database.

A large mine casts about a million votes a year; the union's reports read these small tables
instead of the votes (bench/reports.py measures both). Triggers in the database, not the
app, keep them: every insert, every vote replaced or flagged later, every path that writes
`rating` — the API, the demo, a restore, a hand-made fix — moves the sums in the same
transaction, so the reports can never drift from the votes they summarise.
`flask --app app rebuild-rollups` recomputes them from the votes (after a bulk load).
"""
import click
from flask.cli import with_appcontext
from peewee import CharField, DateField, ForeignKeyField, IntegerField, PostgresqlDatabase

from .models import BaseModel, Dish, database


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

    class Meta:
        indexes = ((("day", "meal", "dish", "place", "shift"), True),)


class TagRollup(BaseModel):
    day = DateField()
    meal = CharField(max_length=16)
    dish = ForeignKeyField(Dish, on_delete="CASCADE")
    tag = CharField(max_length=32)
    n = IntegerField(default=0)

    class Meta:
        indexes = ((("day", "meal", "dish", "tag"), True),)


COUNTED = "{r}.flag IS NULL AND {r}.replaced_by IS NULL"
VOTE_KEY = "(day, meal, dish_id, place, shift)"
VOTE_SUMS = ("n = {t}n + excluded.n, s1 = {t}s1 + excluded.s1, s2 = {t}s2 + excluded.s2, "
             "s3 = {t}s3 + excluded.s3, s4 = {t}s4 + excluded.s4, s5 = {t}s5 + excluded.s5")


def _vote_values(r, d):
    faces = ", ".join(f"CASE WHEN {r}.score = {s} THEN {d} ELSE 0 END" for s in range(1, 6))
    return f"{r}.day, {r}.meal, {r}.dish_id, COALESCE({r}.place, ''), COALESCE({r}.shift, ''), {d}, {faces}"


def _bump_sql(r, d, t=""):
    """Add `d` (1 or -1, or an expression) of rating row alias `r` to both rollups."""
    return [
        f"INSERT INTO vote_rollup (day, meal, dish_id, place, shift, n, s1, s2, s3, s4, s5) "
        f"SELECT {_vote_values(r, d)} WHERE true ON CONFLICT {VOTE_KEY} DO UPDATE SET "
        + VOTE_SUMS.format(t=t and "vote_rollup."),
        f"INSERT INTO tag_rollup (day, meal, dish_id, tag, n) SELECT {r}.day, {r}.meal, {r}.dish_id, rt.tag, {d} "
        f"FROM rating_tag rt WHERE rt.rating_id = {r}.id ON CONFLICT (day, meal, dish_id, tag) "
        f"DO UPDATE SET n = {t and 'tag_rollup.'}n + excluded.n",
    ]


def sqlite_triggers():
    new, old = COUNTED.format(r="NEW"), COUNTED.format(r="OLD")
    vote_insert, _tags = _bump_sql("NEW", 1)
    delta = f"(CASE WHEN {new} THEN 1 ELSE -1 END)"
    return [
        f"CREATE TRIGGER IF NOT EXISTS rating_rollup_insert AFTER INSERT ON rating WHEN {new} "
        f"BEGIN {vote_insert}; END",
        # counted → not counted (replaced, flagged) or back: move the vote and its tags
        f"CREATE TRIGGER IF NOT EXISTS rating_rollup_update AFTER UPDATE OF replaced_by, flag ON rating "
        f"WHEN ({new}) <> ({old}) BEGIN {'; '.join(_bump_sql('NEW', delta))}; END",
        # BEFORE: the vote's tags are still there to subtract
        f"CREATE TRIGGER IF NOT EXISTS rating_rollup_delete BEFORE DELETE ON rating WHEN {old} "
        f"BEGIN {'; '.join(_bump_sql('OLD', -1))}; END",
        "CREATE TRIGGER IF NOT EXISTS rating_tag_rollup_insert AFTER INSERT ON rating_tag BEGIN "
        "INSERT INTO tag_rollup (day, meal, dish_id, tag, n) SELECT r.day, r.meal, r.dish_id, NEW.tag, 1 "
        f"FROM rating r WHERE r.id = NEW.rating_id AND {COUNTED.format(r='r')} "
        "ON CONFLICT (day, meal, dish_id, tag) DO UPDATE SET n = n + excluded.n; END",
    ]


def postgres_triggers():
    new, old = COUNTED.format(r="NEW"), COUNTED.format(r="OLD")
    bump = "; ".join(s.replace("WHERE true ", "") for s in _bump_sql("r", "d", t="x"))
    return [
        "CREATE OR REPLACE FUNCTION canteen_rollup_bump(r rating, d integer) RETURNS void AS $$ BEGIN "
        f"{bump}; END $$ LANGUAGE plpgsql",
        "CREATE OR REPLACE FUNCTION canteen_rating_rollup() RETURNS trigger AS $$ BEGIN "
        f"IF TG_OP = 'INSERT' THEN IF {new} THEN PERFORM canteen_rollup_bump(NEW, 1); END IF; RETURN NULL; "
        f"ELSIF TG_OP = 'UPDATE' THEN "
        f"IF ({old}) AND NOT ({new}) THEN PERFORM canteen_rollup_bump(OLD, -1); "
        f"ELSIF ({new}) AND NOT ({old}) THEN PERFORM canteen_rollup_bump(NEW, 1); END IF; RETURN NULL; "
        f"ELSE IF {old} THEN PERFORM canteen_rollup_bump(OLD, -1); END IF; RETURN OLD; END IF; "
        "END $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS rating_rollup_after ON rating",
        "CREATE TRIGGER rating_rollup_after AFTER INSERT OR UPDATE OF replaced_by, flag ON rating "
        "FOR EACH ROW EXECUTE FUNCTION canteen_rating_rollup()",
        "DROP TRIGGER IF EXISTS rating_rollup_delete ON rating",
        "CREATE TRIGGER rating_rollup_delete BEFORE DELETE ON rating "
        "FOR EACH ROW EXECUTE FUNCTION canteen_rating_rollup()",
        "CREATE OR REPLACE FUNCTION canteen_tag_rollup() RETURNS trigger AS $$ BEGIN "
        "INSERT INTO tag_rollup (day, meal, dish_id, tag, n) SELECT r.day, r.meal, r.dish_id, NEW.tag, 1 "
        f"FROM rating r WHERE r.id = NEW.rating_id AND {COUNTED.format(r='r')} "
        "ON CONFLICT (day, meal, dish_id, tag) DO UPDATE SET n = tag_rollup.n + excluded.n; RETURN NULL; "
        "END $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS rating_tag_rollup_insert ON rating_tag",
        "CREATE TRIGGER rating_tag_rollup_insert AFTER INSERT ON rating_tag "
        "FOR EACH ROW EXECUTE FUNCTION canteen_tag_rollup()",
    ]


def install_triggers(db):
    db = getattr(db, "obj", None) or db  # a DatabaseProxy holds the real one
    for sql in (postgres_triggers() if isinstance(db, PostgresqlDatabase) else sqlite_triggers()):
        db.execute_sql(sql)


def rebuild(db=None):
    """Recompute both rollups from the votes, in one transaction; returns the rows written."""
    db = db or database
    counted = COUNTED.format(r="r")
    faces = ", ".join(f"SUM(CASE WHEN r.score = {s} THEN 1 ELSE 0 END)" for s in range(1, 6))
    with db.atomic():
        db.execute_sql("DELETE FROM tag_rollup")
        db.execute_sql("DELETE FROM vote_rollup")
        db.execute_sql(
            "INSERT INTO vote_rollup (day, meal, dish_id, place, shift, n, s1, s2, s3, s4, s5) "
            f"SELECT r.day, r.meal, r.dish_id, COALESCE(r.place, ''), COALESCE(r.shift, ''), COUNT(*), {faces} "
            f"FROM rating r WHERE {counted} GROUP BY r.day, r.meal, r.dish_id, COALESCE(r.place, ''), "
            "COALESCE(r.shift, '')")
        db.execute_sql(
            "INSERT INTO tag_rollup (day, meal, dish_id, tag, n) SELECT r.day, r.meal, r.dish_id, rt.tag, COUNT(*) "
            f"FROM rating_tag rt JOIN rating r ON r.id = rt.rating_id WHERE {counted} "
            "GROUP BY r.day, r.meal, r.dish_id, rt.tag")
    return sum(db.execute_sql(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("vote_rollup", "tag_rollup"))


@click.command("rebuild-rollups")
@with_appcontext
def rebuild_command():
    """Recompute the report rollups from the votes (after a bulk load or a hand-made fix)."""
    rows = rebuild()
    click.echo(f"Rebuilt the report rollups: {rows} rows.")
