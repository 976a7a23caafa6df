"""Reports: where (place) and in which shift each vote was cast, and the vote rollups the
union's reports read, kept by database triggers (see canteen/rollups.py)."""
import datetime as dt
from zoneinfo import ZoneInfo

from peewee import CharField, DateField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    from canteen.config import DEFAULTS
    from canteen.feedback.rollups import install_triggers, rebuild
    from canteen.meals import parse_shifts, shift_at

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Dish(Base):
        pass

    class VoteRollup(Base):
        day = DateField()
        meal = CharField(max_length=16)
        dish = ForeignKeyField(Dish, on_delete="CASCADE")
        place = CharField(max_length=80, default="")
        shift = CharField(max_length=16, default="")
        n = IntegerField(default=0)
        s1 = IntegerField(default=0)
        s2 = IntegerField(default=0)
        s3 = IntegerField(default=0)
        s4 = IntegerField(default=0)
        s5 = IntegerField(default=0)
        flagged = IntegerField(default=0)
        replaced = IntegerField(default=0)

        class Meta:
            indexes = ((("day", "meal", "dish", "place", "shift"), True),)

    class TagRollup(Base):
        day = DateField()
        meal = CharField(max_length=16)
        dish = ForeignKeyField(Dish, on_delete="CASCADE")
        tag = CharField(max_length=32)
        n = IntegerField(default=0)

        class Meta:
            indexes = ((("day", "meal", "dish", "tag"), True),)

    class VoteMonth(VoteRollup):
        class Meta:
            table_name = "vote_month"
            indexes = ((("day", "meal", "dish", "place", "shift"), True),)

    class TagMonth(TagRollup):
        class Meta:
            table_name = "tag_month"
            indexes = ((("day", "meal", "dish", "tag"), True),)

    migrator.migrate(
        migrator.add_column("rating", "place", CharField(max_length=80, null=True)),
        migrator.add_column("rating", "shift", CharField(max_length=16, null=True)),
    )
    db.create_tables([VoteRollup, TagRollup, VoteMonth, TagMonth], safe=True)
    # Votes cast before this release: place from the kiosk name, shift from the default
    # shift windows in the default zone (an installation that changed them re-runs nothing:
    # the earliest votes are a few weeks of pilot data at most).
    tz, shifts = ZoneInfo(DEFAULTS["TIMEZONE"]), parse_shifts(DEFAULTS["SHIFTS"])
    rows = db.execute_sql("SELECT id, kiosk, voted_at, created_at FROM rating").fetchall()
    for rating_id, kiosk, voted_at, created_at in rows:
        when = voted_at or created_at
        when = when if isinstance(when, dt.datetime) else dt.datetime.fromisoformat(str(when))
        local = when.replace(tzinfo=dt.timezone.utc).astimezone(tz).replace(tzinfo=None)
        db.execute_sql(f"UPDATE rating SET place = {db.param}, shift = {db.param} WHERE id = {db.param}",
                       (kiosk or "", shift_at(local, shifts) or "", rating_id))
    # the comments list reads few rows of a large table
    db.execute_sql("CREATE INDEX IF NOT EXISTS rating_comment_day ON rating (day) WHERE comment IS NOT NULL")
    install_triggers(db)
    rebuild(db)
