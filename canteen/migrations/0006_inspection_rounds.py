"""4D inspection rounds: one row per walk-through of an area, one per graded item."""
from peewee import (
    CharField,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class InspectionRound(Base):
        day = DateField(index=True)
        cadence = CharField(max_length=8)
        area = CharField(max_length=20, index=True)
        inspector = CharField(max_length=80)
        version = CharField(max_length=20)
        points = IntegerField()
        maximum = IntegerField()
        rate = FloatField()
        created_at = DateTimeField()

    class InspectionGrade(Base):
        round = ForeignKeyField(InspectionRound, on_delete="CASCADE")
        item = CharField(max_length=10)
        d = CharField(max_length=16)
        grade = CharField(max_length=10)
        points = IntegerField()
        remark = TextField(null=True)
        photo = CharField(max_length=40, null=True)

    db.create_tables([InspectionRound, InspectionGrade], safe=True)


def down(migrator, db):
    db.execute_sql("DROP TABLE IF EXISTS inspection_grade")
    db.execute_sql("DROP TABLE IF EXISTS inspection_round")
