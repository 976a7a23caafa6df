"""The workers' representatives' suggestions register: suggestions, the teams backing them,
and every dated step of the canteen's answer."""
from peewee import CharField, DateField, DateTimeField, ForeignKeyField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Dish(Base):
        pass

    class DishChange(Base):
        pass

    class Suggestion(Base):
        kind = CharField(max_length=16)
        text = TextField()
        dish = ForeignKeyField(Dish, null=True, on_delete="RESTRICT")
        team = CharField(max_length=80)
        person = CharField(max_length=80, default="")
        venue = CharField(max_length=16)
        raised_on = DateField()
        status = CharField(max_length=12, default="open")
        plan = TextField(default="")
        due = DateField(null=True)
        reason = TextField(default="")
        answered_at = DateTimeField(null=True)
        done_at = DateTimeField(null=True)
        trial_dish = ForeignKeyField(Dish, null=True, on_delete="RESTRICT")
        change = ForeignKeyField(DishChange, null=True, on_delete="RESTRICT")
        author = CharField(max_length=80)
        created_at = DateTimeField(index=True)

    class SuggestionBacker(Base):
        suggestion = ForeignKeyField(Suggestion, on_delete="RESTRICT")
        team = CharField(max_length=80)
        author = CharField(max_length=80)
        created_at = DateTimeField()

        class Meta:
            indexes = ((("suggestion", "team"), True),)

    class SuggestionStep(Base):
        suggestion = ForeignKeyField(Suggestion, on_delete="RESTRICT")
        step = CharField(max_length=12)
        note = TextField(default="")
        author = CharField(max_length=80)
        at = DateTimeField()

    db.create_tables([Suggestion, SuggestionBacker, SuggestionStep], safe=True)


def down(migrator, db):
    for table in ("suggestion_step", "suggestion_backer", "suggestion"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
