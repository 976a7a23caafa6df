"""Issue 16: a PIN per user for the quick switch on a shared tablet, and who acts for a while
within a device's sign-in (the session keeps the full-password sign-in it started with)."""
from peewee import CharField, DateTimeField, IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("user", "pin_hash", CharField(max_length=255, null=True)),
        migrator.add_column("user_session", "acting_user_id", IntegerField(null=True)),
        migrator.add_column("user_session", "acting_version", IntegerField(null=True)),
        migrator.add_column("user_session", "acting_since", DateTimeField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("user", "pin_hash"),
        migrator.drop_column("user_session", "acting_user_id"),
        migrator.drop_column("user_session", "acting_version"),
        migrator.drop_column("user_session", "acting_since"),
    )
