"""Which meal the kiosk shows at a given local time (pure logic, no app)."""
import datetime as dt

import pytest

from canteen.config import ConfigError
from canteen.meals import Slot, current_slot, local_now, parse_windows

WINDOWS = parse_windows("breakfast=06:30-08:30,lunch=11:00-13:00,dinner=17:00-19:00,night=23:00-01:00")
DAY = dt.date(2026, 11, 26)


def at(day, hh, mm=0):
    return dt.datetime.combine(day, dt.time(hh, mm))


@pytest.mark.parametrize("time,expected", [
    (at(DAY, 7), Slot(DAY, "breakfast", True)),
    (at(DAY, 6, 30), Slot(DAY, "breakfast", True)),
    (at(DAY, 8, 30), Slot(DAY, "breakfast", False)),   # the end is exclusive
    (at(DAY, 10), Slot(DAY, "breakfast", False)),      # between meals: the one that ended
    (at(DAY, 12), Slot(DAY, "lunch", True)),
    (at(DAY, 15), Slot(DAY, "lunch", False)),
    (at(DAY, 18), Slot(DAY, "dinner", True)),
    (at(DAY, 22), Slot(DAY, "dinner", False)),
    (at(DAY, 23, 30), Slot(DAY, "night", True)),
    # after midnight the night meal still belongs to the day it started on
    (at(DAY + dt.timedelta(days=1), 0, 30), Slot(DAY, "night", True)),
    (at(DAY + dt.timedelta(days=1), 3), Slot(DAY, "night", False)),
    (at(DAY + dt.timedelta(days=1), 6, 29), Slot(DAY, "night", False)),
])
def test_current_slot(time, expected):
    assert current_slot(time, WINDOWS) == expected


def test_windows_in_any_order_and_without_a_night_meal():
    windows = parse_windows("dinner=17:00-19:00, lunch=11:00-13:30")
    assert current_slot(at(DAY, 9), windows) == Slot(DAY - dt.timedelta(days=1), "dinner", False)
    assert current_slot(at(DAY, 13, 15), windows) == Slot(DAY, "lunch", True)


@pytest.mark.parametrize("spec,words", [
    ("", "at least one"),
    ("lunch", "cannot read"),
    ("lunch=11:00", "cannot read"),
    ("brunch=10:00-11:00", "unknown meal"),
    ("lunch=25:00-26:00", "not a valid time"),
    ("lunch=11:00-11:00", "same time"),
    ("lunch=11:00-13:00,lunch=12:00-14:00", "twice"),
])
def test_bad_meal_windows_are_explained(spec, words):
    with pytest.raises(ConfigError, match=words):
        parse_windows(spec)


def test_local_now_converts_utc_to_shanghai():
    from zoneinfo import ZoneInfo
    utc = dt.datetime(2026, 11, 26, 16, 30, tzinfo=dt.timezone.utc)
    assert local_now(ZoneInfo("Asia/Shanghai"), utc) == dt.datetime(2026, 11, 27, 0, 30)
