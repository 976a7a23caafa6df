"""The canteen's clock: local time in its zone and the meal slot now, from app config."""
import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from .config import ConfigError
from .meals import current_slot, local_now, parse_shifts, parse_windows, shift_at


class CanteenClock:
    def __init__(self, timezone, meals, shifts="early=08:00-16:00,middle=16:00-24:00,night=00:00-08:00"):
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"CANTEEN_TIMEZONE: unknown time zone {timezone!r}") from None
        self.windows = parse_windows(meals)
        self.shifts = parse_shifts(shifts)
        self.frozen = None  # tests and demos may set a local datetime: "it is lunch tomorrow"

    def now(self):
        return self.frozen or local_now(self.tz)

    def today(self):
        return self.now().date()

    def slot(self, now=None):
        return current_slot(now or self.now(), self.windows)

    def previous_slot(self, slot):
        """The meal before `slot` (the one that ended before it began)."""
        start, _end = self.window(slot.meal).occurrence(slot.day)
        earlier = self.slot(start - dt.timedelta(minutes=1))
        return earlier._replace(serving=False)

    def window(self, meal):
        return next(w for w in self.windows if w.name == meal)

    def shift(self, local):
        """The shift a vote cast at local time `local` is counted under ("" if none)."""
        return shift_at(local, self.shifts) or ""

    def to_local(self, utc_naive):
        return local_now(self.tz, utc_naive)

    def local_to_utc(self, local_naive):
        aware = local_naive.replace(tzinfo=self.tz)
        return aware.astimezone(dt.timezone.utc).replace(tzinfo=None)


def init_app(app):
    app.extensions["canteen_clock"] = CanteenClock(app.config["TIMEZONE"], app.config["MEALS"], app.config["SHIFTS"])


def clock():
    return current_app.extensions["canteen_clock"]
