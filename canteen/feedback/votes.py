"""Trustworthy votes: one per person per dish per day, suspicious ones flagged, never dropped.

Who voted is known only as a keyed hash (HMAC with a server secret) of a staff card number or
a phone's random cookie: enough to see that two votes came from the same person, useless for
finding out who that person is. Flagged and replaced votes stay in the table; summaries count
`Rating.counted()` and say how many they left out.
"""
import datetime as dt
import hashlib
import hmac

from ..db import db_time
from ..models import database
from .models import Rating

FLAGS = ("burst", "outside_meal", "token_near_expiry")
BURST_WINDOW = dt.timedelta(seconds=60)


def voter_key(secret, kind, identity):
    """HMAC-SHA256 of "<kind>:<identity>": stable per person, meaningless without the secret."""
    return hmac.new(secret.encode(), f"{kind}:{identity}".encode(), hashlib.sha256).hexdigest()


def flag_reason(*, votes_in_last_minute, burst_limit, voted_local, meal_window, early_minutes,
                late_hours, token_age=None, token_max_age=None):
    """Why a vote looks suspicious, or None. Pure: the caller gathers the facts.

    votes_in_last_minute: earlier votes from the same device in the minute before this one.
    meal_window: (start, end) local datetimes of the meal the vote counts for.
    """
    if burst_limit and votes_in_last_minute + 1 > burst_limit:
        return "burst"
    start, end = meal_window
    if not (start - dt.timedelta(minutes=early_minutes) <= voted_local <= end + dt.timedelta(hours=late_hours)):
        return "outside_meal"
    if token_max_age and token_age is not None and token_age > 0.8 * token_max_age:
        return "token_near_expiry"
    return None


def _as_datetime(value):
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def recent_from_device(kiosk, key, voted_at, limit, debounce):
    """The device's latest votes around `voted_at`: [(id, dish_id, score, voted_at)].

    One query serves both the burst count and the kiosk debounce; every vote runs it, so it
    is plain SQL on the (kiosk, voted_at) / (voter_key, …) indexes rather than built per call.
    """
    if key:
        column, value = "voter_key", key
    elif kiosk:
        column, value = "kiosk", kiosk
    else:
        return []
    p = database.param
    extra = "" if key else " AND voter_key IS NULL"
    rows = database.execute_sql(
        f"SELECT id, dish_id, score, voted_at, replaced_by FROM rating WHERE {column} = {p}{extra} "
        f"AND voted_at >= {p} AND voted_at <= {p} ORDER BY voted_at DESC LIMIT {int(limit) + 8}",
        (value, db_time(voted_at - BURST_WINDOW), db_time(voted_at + debounce))).fetchall()
    return [(i, d, s, _as_datetime(v), r) for i, d, s, v, r in rows]


def burst_count(recent, voted_at):
    """Earlier votes within the minute before `voted_at`."""
    return sum(1 for _i, _d, _s, when, _r in recent if when <= voted_at)


def debounced(recent, dish_id, score, voted_at, debounce):
    """Ids of the same face for the same dish on the same kiosk within `debounce`."""
    return [i for i, d, s, when, replaced in recent
            if d == dish_id and s == score and replaced is None and abs(when - voted_at) <= debounce]


def settle_repeats(rating_id, *, dish_id, day, meal, key, voted_at, per_meal, repeats=()):
    """Make the newest vote of a person (or an identical press repeated on one kiosk) the one
    that counts: earlier ones get replaced_by. Run inside the insert's transaction."""
    if key:
        same = (Rating.voter_key == key) & (Rating.dish == dish_id) & (Rating.day == day)
        if per_meal:
            same &= Rating.meal == meal
        earlier = list(Rating.select(Rating.id, Rating.voted_at)
                       .where(same & (Rating.id != rating_id) & Rating.replaced_by.is_null()))
    elif repeats:
        earlier = list(Rating.select(Rating.id, Rating.voted_at).where(Rating.id.in_(list(repeats))))
    else:
        return
    if not earlier:
        return
    newest = max(earlier, key=lambda r: (r.voted_at, r.id))
    if (newest.voted_at, newest.id) > (voted_at, rating_id):
        # a replayed vote older than one already stored: the stored one stays the answer
        Rating.update(replaced_by=newest.id).where(Rating.id == rating_id).execute()
        others = [r.id for r in earlier if r.id != newest.id]
        keep = newest.id
    else:
        others = [r.id for r in earlier]
        keep = rating_id
    if others:
        Rating.update(replaced_by=keep).where(Rating.id.in_(others)).execute()
