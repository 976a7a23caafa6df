"""Dishes, menus, ratings and their reason tags, and a small key-value settings table."""
from peewee import (
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    SmallIntegerField,
)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Dish(Base):
        name_zh = CharField(max_length=60)
        name_en = CharField(max_length=80)
        price_fen = IntegerField()
        category = CharField(max_length=20, default="meat")
        photo = CharField(max_length=200, null=True)
        active = BooleanField(default=True)
        trial_start = DateField(null=True)
        trial_end = DateField(null=True)
        created_at = DateTimeField()

    class MenuItem(Base):
        day = DateField()
        meal = CharField(max_length=16)
        dish = ForeignKeyField(Dish, on_delete="CASCADE")
        position = IntegerField(default=0)

        class Meta:
            indexes = ((("day", "meal", "dish"), True),)

    class Rating(Base):
        dish = ForeignKeyField(Dish, on_delete="RESTRICT")
        score = SmallIntegerField()
        channel = CharField(max_length=16)
        kiosk = CharField(max_length=64, null=True)
        client_id = CharField(max_length=64, unique=True)
        day = DateField()
        meal = CharField(max_length=16)
        created_at = DateTimeField(index=True)

    class RatingTag(Base):
        rating = ForeignKeyField(Rating, on_delete="CASCADE")
        tag = CharField(max_length=32)

        class Meta:
            primary_key = CompositeKey("rating", "tag")

    class AppSetting(Base):
        key = CharField(max_length=64, primary_key=True)
        value = CharField(max_length=500)

    db.create_tables([Dish, MenuItem, Rating, RatingTag, AppSetting], safe=True)


def down(migrator, db):
    for table in ("app_setting", "rating_tag", "rating", "menu_item", "dish"):
        migrator.database.execute_sql(f"DROP TABLE IF EXISTS {table}")
