"""The filters every report shares — period, meal, shift, place, dish — read from the query
string; a bad value gets a message beside its field and the default instead."""
import datetime as dt
from typing import NamedTuple

from flask import request
from flask_babel import gettext as _

from ..clock import clock
from ..meals import MEAL_ORDER
from ..models import Dish
from ..office.forms import printable


class Filters(NamedTuple):
    first: dt.date
    last: dt.date
    meal: str = None
    shift: str = None
    place: str = None
    dish: int = None

    def where(self, model):
        """The peewee condition selecting this slice of a rollup table."""
        cond = model.day.between(self.first, self.last)
        for name in ("meal", "shift", "place"):
            value = getattr(self, name)
            if value is not None:
                cond &= getattr(model, name) == value
        if self.dish is not None:
            cond &= model.dish == self.dish
        return cond

    def args(self, **extra):
        """Query-string arguments that reproduce these filters (for links and exports)."""
        out = {"from": self.first.isoformat(), "to": self.last.isoformat()}
        out.update({k: v for k in ("meal", "shift", "place", "dish") if (v := getattr(self, k)) is not None})
        out.update(extra)
        return out

    @property
    def days(self):
        return (self.last - self.first).days + 1


def _date(text):
    day = dt.date.fromisoformat(text)
    if not 2000 <= day.year <= 2100:
        raise ValueError
    return day


ALL = ("meal", "shift", "place", "dish")


def read_filters(default_days=28, fields=ALL, max_days=None, weeks=False):
    """(Filters, {field: message}) from request.args. Only the `fields` a page offers are
    read (so an error always has a field to stand beside); `max_days` caps day-by-day reports."""
    args, errors = request.args, {}
    today = clock().today()
    last = today
    if args.get("to"):
        try:
            last = _date(args["to"])
        except ValueError:
            errors["to"] = _("Not a date between 2000 and 2100 (YYYY-MM-DD).")
    first = last - dt.timedelta(days=default_days - 1)
    if weeks:  # a week-by-week report starts on a Monday unless asked otherwise
        first -= dt.timedelta(days=first.weekday())
    if args.get("from"):
        try:
            first = _date(args["from"])
        except ValueError:
            errors["from"] = _("Not a date between 2000 and 2100 (YYYY-MM-DD).")
    if first > last:
        errors["from"] = _("The first day comes after the last one.")
        first = last - dt.timedelta(days=default_days - 1)
    if max_days and (last - first).days + 1 > max_days:
        errors["from"] = _("At most %(n)d days at a time here.", n=max_days)
        first = last - dt.timedelta(days=max_days - 1)
    args = {k: printable(v) for k, v in args.items() if k in fields}  # no NUL for PostgreSQL
    meal = args.get("meal") or None
    if meal is not None and meal not in MEAL_ORDER:
        errors["meal"] = _("Unknown meal.")
        meal = None
    shift = args.get("shift") or None
    if shift is not None and shift not in [w.name for w in clock().shifts]:
        errors["shift"] = _("Unknown shift.")
        shift = None
    place = args.get("place")
    place = place[:80] if place else None
    dish = None
    if args.get("dish"):
        try:
            dish = int(args["dish"])
            if not 0 < dish < 2 ** 31 or not Dish.select().where(Dish.id == dish).exists():
                raise ValueError
        except ValueError:
            errors["dish"] = _("Unknown dish.")
            dish = None
    return Filters(first, last, meal, shift, place, dish), errors


def iso_week(day):
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_between(first, last):
    """ISO weeks from the one holding `first` to the one holding `last`, in order."""
    out, day = [], first - dt.timedelta(days=first.weekday())
    while day <= last:
        out.append(iso_week(day))
        day += dt.timedelta(days=7)
    return out
