"""The miners' votes and what the canteen did with them: ratings with their reason chips,
printed QR cards, trial decisions, dish changes (recipe, price, portion) and follow-ups of
phone comments."""
from peewee import (
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    SmallIntegerField,
    TextField,
)

from ..models import BaseModel, Dish, utcnow


class Rating(BaseModel):
    dish = ForeignKeyField(Dish, backref="ratings", on_delete="RESTRICT")
    score = SmallIntegerField()
    channel = CharField(max_length=16)
    kiosk = CharField(max_length=64, null=True)
    # Idempotency key made by the client: a retried send never counts twice.
    client_id = CharField(max_length=64, unique=True)
    day = DateField()  # service day of the meal voted on
    meal = CharField(max_length=16)
    created_at = DateTimeField(default=utcnow, index=True)  # when the server stored it
    voted_at = DateTimeField(null=True, index=True)  # when the miner voted (kept on offline replay)
    # HMAC of whoever voted (card number or phone cookie), never the identity itself.
    voter_key = CharField(max_length=64, null=True)
    replaced_by = IntegerField(null=True)  # a later vote of the same person for the same dish and day
    flag = CharField(max_length=40, null=True)  # why this vote is kept out of summaries
    comment = TextField(null=True)  # phone votes only, at most 500 characters
    source = CharField(max_length=64, null=True)  # "card:12" or "kiosk-qr:lamp-room"
    place = CharField(max_length=80, null=True)  # kiosk name or QR card location, for reports
    shift = CharField(max_length=16, null=True)  # shift window of voted_at (CANTEEN_SHIFTS)
    withdrawn_at = DateTimeField(null=True)  # the miner took it back ("Change"); flag is "withdrawn"

    class Meta:
        indexes = ((("voter_key", "dish", "day"), False), (("kiosk", "voted_at"), False))

    @classmethod
    def for_dish(cls, dish):
        return cls.select().where(cls.dish == dish)

    @classmethod
    def counted(cls):
        """The votes summaries count: neither replaced by a later one nor flagged."""
        return cls.select().where(cls.replaced_by.is_null() & cls.flag.is_null())

    def tags(self):
        return [t.tag for t in self.tag_rows.order_by(RatingTag.tag)]


class RatingTag(BaseModel):
    rating = ForeignKeyField(Rating, backref="tag_rows", on_delete="CASCADE")
    tag = CharField(max_length=32)

    class Meta:
        primary_key = CompositeKey("rating", "tag")


class QrCard(BaseModel):
    """A printed table card: its QR carries a signed token naming this row."""
    label = CharField(max_length=80)
    location = CharField(max_length=80, default="")
    dish = ForeignKeyField(Dish, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)


class TrialDecision(BaseModel):
    """The manager's decision on a dish after its trial; the latest one per dish stands, the
    earlier ones stay as history. The suggested verdict and its evidence are kept beside it."""
    dish = ForeignKeyField(Dish, backref="decisions", on_delete="CASCADE")
    decision = CharField(max_length=8)
    suggested = CharField(max_length=12)
    evidence = TextField(default="{}")  # JSON: votes, fair score, good share and interval
    note = TextField(default="")
    announce = BooleanField(default=True)  # show on the kiosk's idle screen
    author = CharField(max_length=80)
    decided_at = DateTimeField(default=utcnow)


class DishChange(BaseModel):
    """From service day `day` on, the dish changed (the trend charts mark it)."""
    dish = ForeignKeyField(Dish, backref="changes", on_delete="CASCADE")
    day = DateField()
    kind = CharField(max_length=8)
    note = TextField(default="")
    announce = BooleanField(default=True)
    author = CharField(max_length=80)
    created_at = DateTimeField(default=utcnow)


class CommentFollowUp(BaseModel):
    """A phone comment's follow-up: a safety word seen, the manager's reply, handled or not."""
    rating = ForeignKeyField(Rating, unique=True, on_delete="CASCADE")
    safety = BooleanField(default=False)
    reply = TextField(null=True)
    replied_by = CharField(max_length=80, null=True)
    replied_at = DateTimeField(null=True)
    handled_at = DateTimeField(null=True)
    handled_by = CharField(max_length=80, null=True)
