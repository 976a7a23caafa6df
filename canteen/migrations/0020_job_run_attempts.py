"""A job run counts its attempts: a failed backup is tried again later the same day, a bounded
number of times, on the same claim (so two schedulers still never run a slot at once).
A delivery names the process that claimed it and when: a send cut off by a crash is found
and marked "unknown" (and raised as an alert) instead of staying "sending" for ever."""
from peewee import CharField, DateTimeField, IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("job_run", "attempts", IntegerField(default=1)),
                     migrator.add_column("delivery", "claimed_by", CharField(max_length=120, default="")),
                     migrator.add_column("delivery", "claimed_at", DateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("job_run", "attempts"),
                     migrator.drop_column("delivery", "claimed_by"),
                     migrator.drop_column("delivery", "claimed_at"))
