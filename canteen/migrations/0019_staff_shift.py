"""The shift a staff member works (a name from CANTEEN_SHIFTS, or none): the morning health
check of a shift lists those on the shift about to start first."""
from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column("staff", "shift", CharField(max_length=16, null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("staff", "shift"))
