"""The shared core models: dishes, the menus that serve them, and installation settings."""
import datetime as dt

from peewee import (
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
)

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

    @staticmethod
    def meal_serving(found, slot):
        """The meal under which a vote for a dish counts, of the (day, meal) pairs that serve
        it on the slot's service day or today's calendar day (`found`), or None if none does.

        The slot being served (or just ended) wins; otherwise the latest meal.
        """
        if (slot.day, slot.meal) in found:
            return slot.day, slot.meal
        if not found:
            return None
        return max(found, key=lambda dm: (dm[0], MEAL_ORDER.index(dm[1])
                                          if dm[1] in MEAL_ORDER else -1))


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


MODELS = [Dish, MenuItem, AppSetting]
