"""The feedback models: dishes, menus and the miners' ratings."""
import datetime as dt

from peewee import (BooleanField, CharField, CompositeKey, DatabaseProxy, DateField,
                    DateTimeField, ForeignKeyField, IntegerField, Model, SmallIntegerField,
                    TextField)

from .meals import MEAL_ORDER

database = DatabaseProxy()


def utcnow():
    """Naive UTC: stored times are UTC everywhere, shown in the canteen's zone."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Dish(BaseModel):
    name_zh = CharField(max_length=60)
    name_en = CharField(max_length=80)
    price_fen = IntegerField()  # money in fen (分) as an integer, never a float
    category = CharField(max_length=20, default="meat")
    photo = CharField(max_length=200, null=True)  # file name under instance/photos
    active = BooleanField(default=True)
    trial_start = DateField(null=True)  # set for a new dish on trial
    trial_end = DateField(null=True)  # None: trial_start + TRIAL_DAYS
    created_at = DateTimeField(default=utcnow)

    def name(self, locale):
        return self.name_en if locale == "en" and self.name_en else self.name_zh

    def is_new_on(self, day, trial_days):
        """On trial on `day`: from trial_start to trial_end (or trial_days later)."""
        if self.trial_start is None or day < self.trial_start:
            return False
        if self.trial_end is not None:
            return day <= self.trial_end
        return (day - self.trial_start).days < trial_days

    @classmethod
    def served_on(cls, day, meal):
        return (cls
                .select(cls, MenuItem.position)
                .join(MenuItem)
                .where((MenuItem.day == day) & (MenuItem.meal == meal) & cls.active)
                .order_by(MenuItem.position, cls.id))


class MenuItem(BaseModel):
    """Dish `dish` is served at meal `meal` on service day `day`."""
    day = DateField()
    meal = CharField(max_length=16)
    dish = ForeignKeyField(Dish, backref="menu_items", on_delete="CASCADE")
    position = IntegerField(default=0)

    class Meta:
        indexes = ((("day", "meal", "dish"), True),)

    @classmethod
    def meal_serving(cls, dish_id, slot, today):
        """The meal under which a vote for `dish_id` counts, or None if it is not served.

        The slot being served (or just ended) wins; otherwise any meal of that service day or
        of today's calendar day that has the dish, latest meal first.
        """
        # Every vote runs this: plain SQL, because building it through the query builder
        # cost more than the vote's INSERT and commit together (bench/load.py).
        p = database.param
        rows = database.execute_sql(
            f"SELECT m.day, m.meal FROM menu_item m JOIN dish d ON d.id = m.dish_id "
            f"WHERE m.dish_id = {p} AND d.active AND m.day IN ({p}, {p})",
            (dish_id, slot.day.isoformat(), today.isoformat())).fetchall()
        found = {(dt.date.fromisoformat(str(day)), meal) for day, meal in rows}
        if (slot.day, slot.meal) in found:
            return slot.day, slot.meal
        if not found:
            return None
        return max(found, key=lambda dm: (dm[0], MEAL_ORDER.index(dm[1])
                                          if dm[1] in MEAL_ORDER else -1))


class Rating(BaseModel):
    dish = ForeignKeyField(Dish, backref="ratings", on_delete="RESTRICT")
    score = SmallIntegerField()
    channel = CharField(max_length=16)
    kiosk = CharField(max_length=64, null=True)
    # Idempotency key made by the client: a retried send never counts twice.
    client_id = CharField(max_length=64, unique=True)
    day = DateField()  # service day of the meal voted on
    meal = CharField(max_length=16)
    created_at = DateTimeField(default=utcnow, index=True)  # when the server stored it
    voted_at = DateTimeField(null=True, index=True)  # when the miner voted (kept on offline replay)
    # HMAC of whoever voted (card number or phone cookie), never the identity itself.
    voter_key = CharField(max_length=64, null=True)
    replaced_by = IntegerField(null=True)  # a later vote of the same person for the same dish and day
    flag = CharField(max_length=40, null=True)  # why this vote is kept out of summaries
    comment = TextField(null=True)  # phone votes only, at most 500 characters
    source = CharField(max_length=64, null=True)  # "card:12" or "kiosk-qr:lamp-room"
    place = CharField(max_length=80, null=True)  # kiosk name or QR card location, for reports
    shift = CharField(max_length=16, null=True)  # shift window of voted_at (CANTEEN_SHIFTS)

    class Meta:
        indexes = ((("voter_key", "dish", "day"), False), (("kiosk", "voted_at"), False))

    @classmethod
    def for_dish(cls, dish):
        return cls.select().where(cls.dish == dish)

    @classmethod
    def counted(cls):
        """The votes summaries count: neither replaced by a later one nor flagged."""
        return cls.select().where(cls.replaced_by.is_null() & cls.flag.is_null())

    def tags(self):
        return [t.tag for t in self.tag_rows.order_by(RatingTag.tag)]


class RatingTag(BaseModel):
    rating = ForeignKeyField(Rating, backref="tag_rows", on_delete="CASCADE")
    tag = CharField(max_length=32)

    class Meta:
        primary_key = CompositeKey("rating", "tag")


class AppSetting(BaseModel):
    """Small facts about this installation (e.g. that it holds demo data)."""
    key = CharField(max_length=64, primary_key=True)
    value = CharField(max_length=500)

    @classmethod
    def read(cls, key, default=None):
        row = cls.get_or_none(cls.key == key)
        return row.value if row else default

    @classmethod
    def write(cls, key, value):
        (cls.insert(key=key, value=value)
         .on_conflict(conflict_target=[cls.key], update={cls.value: value})
         .execute())


class QrCard(BaseModel):
    """A printed table card: its QR carries a signed token naming this row."""
    label = CharField(max_length=80)
    location = CharField(max_length=80, default="")
    dish = ForeignKeyField(Dish, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)


MODELS = [Dish, MenuItem, Rating, RatingTag, AppSetting, QrCard]
