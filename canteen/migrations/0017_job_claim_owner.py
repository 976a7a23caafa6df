"""A job run's claim names the process that holds it, so that a claim left by a scheduler
killed mid-job can be taken over once (and only once) instead of blocking its slot for ever."""
from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column("job_run", "owner", CharField(max_length=120, default="")))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("job_run", "owner"))
