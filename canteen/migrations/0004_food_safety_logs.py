"""Food-safety registers, log records with amendments, stock on hand."""
from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    FloatField,
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

    class Staff(Base):
        name = CharField(max_length=60)
        job = CharField(max_length=60, default="")
        health_cert_no = CharField(max_length=40, default="")
        health_cert_expiry = DateField(null=True)
        active = BooleanField(default=True)
        created_at = DateTimeField()

    class Training(Base):
        staff = ForeignKeyField(Staff, on_delete="CASCADE")
        topic = CharField(max_length=80)
        day = DateField()
        trainer = CharField(max_length=60, default="")
        created_at = DateTimeField()

    class Supplier(Base):
        name = CharField(max_length=80, unique=True)
        licence_no = CharField(max_length=60, default="")
        licence_expiry = DateField(null=True)
        contact = CharField(max_length=80, default="")
        active = BooleanField(default=True)
        created_at = DateTimeField()

    class StorageUnit(Base):
        name = CharField(max_length=60, unique=True)
        kind = CharField(max_length=16)
        owner = ForeignKeyField(Staff, null=True, on_delete="SET NULL")
        checker = ForeignKeyField(Staff, null=True, on_delete="SET NULL", backref="checked_units")
        active = BooleanField(default=True)
        created_at = DateTimeField()

    class SafetyRecord(Base):
        kind = CharField(max_length=24, index=True)
        data = TextField()
        current = TextField()
        version = IntegerField(default=1)
        recorded_at = DateTimeField(index=True)
        occurred_at = DateTimeField(index=True)
        author = CharField(max_length=80)
        day = DateField(index=True)

    class SafetyAmendment(Base):
        record = ForeignKeyField(SafetyRecord, on_delete="RESTRICT")
        version = IntegerField()
        data = TextField()
        changed = TextField()
        reason = CharField(max_length=300)
        author = CharField(max_length=80)
        at = DateTimeField()

        class Meta:
            indexes = ((("record", "version"), True),)

    class StockLot(Base):
        record = ForeignKeyField(SafetyRecord, null=True, on_delete="SET NULL")
        item = CharField(max_length=80)
        category = CharField(max_length=20)
        quantity = FloatField()
        qty_unit = CharField(max_length=10)
        remaining = FloatField()
        use_by = DateField(null=True)
        received_at = DateTimeField()

    class StockUse(Base):
        lot = ForeignKeyField(StockLot, on_delete="RESTRICT")
        quantity = FloatField()
        reason = CharField(max_length=20, default="used")
        author = CharField(max_length=80)
        at = DateTimeField()

    db.create_tables([Staff, Training, Supplier, StorageUnit, SafetyRecord, SafetyAmendment,
                      StockLot, StockUse], safe=True)


def down(migrator, db):
    for table in ("stock_use", "stock_lot", "safety_amendment", "safety_record", "storage_unit",
                  "supplier", "training", "staff"):
        db.execute_sql(f"DROP TABLE IF EXISTS {table}")
