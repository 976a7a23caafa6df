"""The workers' representatives' suggestions and what the canteen answered: a register the
union keeps and the chain vouches for (every row is bound by an audit entry)."""
from peewee import CharField, DateField, DateTimeField, ForeignKeyField, TextField

from .. import audit
from ..feedback.models import DishChange
from ..models import BaseModel, Dish, utcnow


class Suggestion(BaseModel):
    """One suggestion as raised; the answer fields hold the latest step (SuggestionStep keeps them all)."""
    kind = CharField(max_length=16)  # vocabulary.SUGGESTION_KINDS
    text = TextField()
    dish = ForeignKeyField(Dish, null=True, backref="suggestions", on_delete="RESTRICT")  # the dish it is about
    team = CharField(max_length=80)  # a team, a shift or a place: who asked
    person = CharField(max_length=80, default="")  # a name only when the person gave it; never public
    venue = CharField(max_length=16)  # vocabulary.SUGGESTION_VENUES
    raised_on = DateField()
    status = CharField(max_length=12, default="open")  # open | accepted | declined | done
    plan = TextField(default="")  # accepted: what will be done
    due = DateField(null=True)  # accepted: by when
    reason = TextField(default="")  # declined: why, for the representatives
    answered_at = DateTimeField(null=True)  # the first answer
    done_at = DateTimeField(null=True)
    trial_dish = ForeignKeyField(Dish, null=True, on_delete="RESTRICT")  # the dish it put on trial
    change = ForeignKeyField(DishChange, null=True, on_delete="RESTRICT")  # the change it made
    author = CharField(max_length=80)
    created_at = DateTimeField(default=utcnow, index=True)

    def teams(self):
        """Who asked: the team it came from, then every team that backed it."""
        backers = [b.team for b in self.backers.order_by(SuggestionBacker.id)]
        return [self.team] + [t for t in backers if t != self.team]


class SuggestionBacker(BaseModel):
    """Another team (shift, place) that backs the suggestion."""
    suggestion = ForeignKeyField(Suggestion, backref="backers", on_delete="RESTRICT")
    team = CharField(max_length=80)
    author = CharField(max_length=80)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("suggestion", "team"), True),)


class SuggestionStep(BaseModel):
    """A dated step: recorded, backed, accepted, declined, done, linked."""
    suggestion = ForeignKeyField(Suggestion, backref="steps", on_delete="RESTRICT")
    step = CharField(max_length=12)
    note = TextField(default="")
    author = CharField(max_length=80)
    at = DateTimeField(default=utcnow)


audit.cover(Suggestion, SuggestionBacker, SuggestionStep)
