"""A miner may withdraw his vote for a few minutes ("Change" on the kiosk): the vote stays,
marked withdrawn (flag "withdrawn", left out of every count like other flagged votes)."""
from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(migrator.add_column("rating", "withdrawn_at", DateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("rating", "withdrawn_at"))
