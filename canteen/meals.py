"""Meal windows and "which meal is it now" — pure functions, no Flask, no database.

Miners vote after eating, so between two meals the kiosk keeps showing the meal that ended
last. A window may cross midnight (the night-shift meal, 班中餐): it belongs to the service
day on which it starts.
"""
import datetime as dt
import re
from typing import NamedTuple

from .config import ConfigError

MEAL_ORDER = ("breakfast", "lunch", "dinner", "night")

_WINDOW = re.compile(r"^\s*([a-z_]+)\s*=\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class MealWindow(NamedTuple):
    name: str
    start: dt.time
    end: dt.time

    def occurrence(self, day):
        """(start, end) as naive local datetimes for the service day `day`."""
        start = dt.datetime.combine(day, self.start)
        end = dt.datetime.combine(day, self.end)
        if end <= start:  # crosses midnight
            end += dt.timedelta(days=1)
        return start, end


class Slot(NamedTuple):
    """One meal on one service day, and whether it is being served right now."""
    day: dt.date
    meal: str
    serving: bool


def _parse_ranges(spec, setting, names=None):
    """Parse "name=HH:MM-HH:MM,…" into MealWindows in the order given."""
    windows = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        m = _WINDOW.match(part)
        if not m:
            raise ConfigError(f"CANTEEN_{setting}: cannot read {part!r}; write name=HH:MM-HH:MM")
        name = m.group(1)
        if names is not None and name not in names:
            what = "meal" if setting == "MEALS" else "name"
            raise ConfigError(f"CANTEEN_{setting}: unknown {what} {name!r}; use {', '.join(names)}")
        try:
            start = dt.time(int(m.group(2)), int(m.group(3)))
            # "24:00" ends a window at midnight
            end = dt.time(0, 0) if m.group(4) + m.group(5) == "2400" else dt.time(int(m.group(4)), int(m.group(5)))
        except ValueError:
            raise ConfigError(f"CANTEEN_{setting}: {part!r} is not a valid time range") from None
        if start == end:
            raise ConfigError(f"CANTEEN_{setting}: {name} starts and ends at the same time")
        if any(w.name == name for w in windows):
            raise ConfigError(f"CANTEEN_{setting}: {name} is given twice")
        windows.append(MealWindow(name, start, end))
    if not windows:
        raise ConfigError(f"CANTEEN_{setting} must name at least one window")
    return windows


def parse_windows(spec):
    """Parse "breakfast=06:30-08:30,lunch=…" into MealWindows in the order given."""
    return _parse_ranges(spec, "MEALS", MEAL_ORDER)


def parse_shifts(spec):
    """Parse "early=08:00-16:00,middle=16:00-24:00,night=00:00-08:00" (any names up to 16
    letters: the length a vote stores)."""
    shifts = _parse_ranges(spec, "SHIFTS")
    for w in shifts:
        if len(w.name) > 16:
            raise ConfigError(f"CANTEEN_SHIFTS: the name {w.name!r} is longer than 16 letters")
    return shifts


def shift_at(local, shifts):
    """The name of the shift whose window holds local time `local`, else None."""
    t = local.time()
    for w in shifts:
        if (w.start <= t < w.end) if w.start < w.end else (t >= w.start or t < w.end):
            return w.name
    return None


def current_slot(now, windows):
    """The meal being served at local time `now`, else the one that ended most recently."""
    candidates = []
    for day in (now.date() - dt.timedelta(days=1), now.date()):
        for window in windows:
            start, end = window.occurrence(day)
            if start <= now < end:
                return Slot(day, window.name, True)
            if end <= now:
                candidates.append((end, day, window.name))
    _end, day, meal = max(candidates)
    return Slot(day, meal, False)


def local_now(tz, utc_now=None):
    """Naive local wall-clock time in `tz` (a ZoneInfo) for an aware or naive-UTC instant."""
    utc_now = utc_now or dt.datetime.now(dt.timezone.utc)
    if utc_now.tzinfo is None:
        utc_now = utc_now.replace(tzinfo=dt.timezone.utc)
    return utc_now.astimezone(tz).replace(tzinfo=None)
