"""A correction may move when a log entry's event happened (a reading written down at 07:10
that was taken at 06:40): the amendment keeps the time before and after, so the original
time stays on record like every original value."""
from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(migrator.add_column("safety_amendment", "occurred_before", DateTimeField(null=True)),
                     migrator.add_column("safety_amendment", "occurred_after", DateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("safety_amendment", "occurred_before"),
                     migrator.drop_column("safety_amendment", "occurred_after"))
