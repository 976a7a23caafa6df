"""Back-office sessions kept server-side: signing out, idling and a maximum age end them."""
from peewee import CharField, DateTimeField, IntegerField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class UserSession(Base):
        token_hash = CharField(max_length=64, unique=True)
        user_id = IntegerField(index=True)
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        ended_at = DateTimeField(null=True)

    db.create_tables([UserSession], safe=True)


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "user_session"')
