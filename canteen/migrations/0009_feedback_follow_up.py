"""What the canteen did with the votes: trial decisions, dish changes, comment follow-ups."""
from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    Model,
    TextField,
)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Dish(Base):
        pass

    class Rating(Base):
        pass

    class TrialDecision(Base):
        dish = ForeignKeyField(Dish, on_delete="CASCADE")
        decision = CharField(max_length=8)
        suggested = CharField(max_length=12)
        evidence = TextField(default="{}")
        note = TextField(default="")
        announce = BooleanField(default=True)
        author = CharField(max_length=80)
        decided_at = DateTimeField()

    class DishChange(Base):
        dish = ForeignKeyField(Dish, on_delete="CASCADE")
        day = DateField()
        kind = CharField(max_length=8)
        note = TextField(default="")
        announce = BooleanField(default=True)
        author = CharField(max_length=80)
        created_at = DateTimeField()

    class CommentFollowUp(Base):
        rating = ForeignKeyField(Rating, unique=True, on_delete="CASCADE")
        safety = BooleanField(default=False)
        reply = TextField(null=True)
        replied_by = CharField(max_length=80, null=True)
        replied_at = DateTimeField(null=True)
        handled_at = DateTimeField(null=True)
        handled_by = CharField(max_length=80, null=True)

    db.create_tables([TrialDecision, DishChange, CommentFollowUp], safe=True)
