"""Staff accounts, failed sign-ins, kiosk devices, API tokens and the audit trail."""
from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    IntegerField,
    Model,
    TextField,
)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        username = CharField(max_length=40, unique=True)
        display_name = CharField(max_length=80, default="")
        password_hash = CharField(max_length=255)
        roles = CharField(max_length=64, default="")
        active = BooleanField(default=True)
        session_version = IntegerField(default=0)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)

    class LoginAttempt(Base):
        username = CharField(max_length=40, index=True)
        address = CharField(max_length=64, index=True)
        at = DateTimeField(index=True)

    class Kiosk(Base):
        name = CharField(max_length=64, unique=True)
        location = CharField(max_length=80, default="")
        pairing_hash = CharField(max_length=64, null=True, unique=True)
        pairing_expires_at = DateTimeField(null=True)
        device_hash = CharField(max_length=64, null=True, unique=True)
        paired_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)
        last_seen_at = DateTimeField(null=True)
        created_at = DateTimeField()

    class ApiToken(Base):
        name = CharField(max_length=64)
        role = CharField(max_length=16)
        token_hash = CharField(max_length=64, unique=True)
        prefix = CharField(max_length=12)
        created_at = DateTimeField()
        revoked_at = DateTimeField(null=True)
        last_used_at = DateTimeField(null=True)

    class AuditEntry(Base):
        at = DateTimeField(index=True)
        actor = CharField(max_length=80)
        action = CharField(max_length=40)
        entity = CharField(max_length=40)
        entity_id = CharField(max_length=40, null=True)
        detail = TextField(default="{}")
        prev_hash = CharField(max_length=64)
        hash = CharField(max_length=64, unique=True)

    db.create_tables([User, LoginAttempt, Kiosk, ApiToken, AuditEntry], safe=True)
    # One live dish per Chinese name: the catalog refuses duplicates.
    db.execute_sql("CREATE UNIQUE INDEX IF NOT EXISTS dish_name_zh ON dish (name_zh)")


def down(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS dish_name_zh")
    for table in ("audit_entry", "api_token", "kiosk", "login_attempt", "user"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
