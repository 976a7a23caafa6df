"""A job run counts its attempts: a failed backup is tried again later the same day, a bounded
number of times, on the same claim (so two schedulers still never run a slot at once)."""
from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("job_run", "attempts", IntegerField(default=1)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("job_run", "attempts"))
