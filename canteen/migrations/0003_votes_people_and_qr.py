"""One vote per person: voter keys, replaced and flagged votes, original vote times, phone
comments; printed QR cards; an optional card reader per kiosk."""
from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
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

    class Dish(Base):
        pass

    class QrCard(Base):
        label = CharField(max_length=80)
        location = CharField(max_length=80, default="")
        dish = ForeignKeyField(Dish, null=True, on_delete="SET NULL")
        created_at = DateTimeField()
        revoked_at = DateTimeField(null=True)

    db.create_tables([QrCard], safe=True)
    migrator.migrate(
        migrator.add_column("rating", "voted_at", DateTimeField(null=True)),
        migrator.add_column("rating", "voter_key", CharField(max_length=64, null=True)),
        migrator.add_column("rating", "replaced_by", IntegerField(null=True)),
        migrator.add_column("rating", "flag", CharField(max_length=40, null=True)),
        migrator.add_column("rating", "comment", TextField(null=True)),
        migrator.add_column("rating", "source", CharField(max_length=64, null=True)),
        migrator.add_column("kiosk", "card_reader", BooleanField(default=False)),
        migrator.add_index("rating", ("voter_key", "dish_id", "day")),
        migrator.add_index("rating", ("voted_at",)),
        migrator.add_index("rating", ("kiosk", "voted_at")),
    )
    db.execute_sql("UPDATE rating SET voted_at = created_at WHERE voted_at IS NULL")


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("rating", "rating_voter_key_dish_id_day"),
        migrator.drop_index("rating", "rating_voted_at"),
        migrator.drop_index("rating", "rating_kiosk_voted_at"),
        *[migrator.drop_column("rating", c) for c in ("voted_at", "voter_key", "replaced_by", "flag",
                                                      "comment", "source")],
        migrator.drop_column("kiosk", "card_reader"),
    )
    db.execute_sql("DROP TABLE IF EXISTS qr_card")
