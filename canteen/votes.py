"""Trustworthy votes: one per person per dish per day, suspicious ones flagged, never dropped.

Who voted is known only as a keyed hash (HMAC with a server secret) of a staff card number or
a phone's random cookie: enough to see that two votes came from the same person, useless for
finding out who that person is. Flagged and replaced votes stay in the table; summaries count
`Rating.counted()` and say how many they left out.
"""
import datetime as dt
import hashlib
import hmac

from peewee import fn

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


def device_filter(kiosk, key):
    """Votes from the same device: the same person's key, else the same kiosk."""
    if key:
        return Rating.voter_key == key
    if kiosk:
        return (Rating.kiosk == kiosk) & Rating.voter_key.is_null()
    return None


def votes_in_last_minute(kiosk, key, voted_at, limit):
    where = device_filter(kiosk, key)
    if where is None or not limit:
        return 0
    recent = (Rating.select(Rating.id)
              .where(where & Rating.voted_at.between(voted_at - BURST_WINDOW, voted_at))
              .limit(limit + 1))  # counting past the limit tells nothing more
    return Rating.select(fn.COUNT(1)).from_(recent.alias("recent")).scalar()


def settle_repeats(rating_id, *, dish_id, day, meal, score, kiosk, key, voted_at, per_meal,
                   debounce):
    """Make the newest vote of a person (or an identical press repeated on one kiosk within
    `debounce`) the one that counts: earlier ones get replaced_by. Run inside the insert's
    transaction."""
    if key:
        same = (Rating.voter_key == key) & (Rating.dish == dish_id) & (Rating.day == day)
        if per_meal:
            same &= Rating.meal == meal
    elif kiosk and debounce:
        same = ((Rating.kiosk == kiosk) & Rating.voter_key.is_null() & (Rating.dish == dish_id)
                & (Rating.score == score)
                & Rating.voted_at.between(voted_at - debounce, voted_at + debounce))
    else:
        return
    earlier = list(Rating.select(Rating.id, Rating.voted_at)
                   .where(same & (Rating.id != rating_id) & Rating.replaced_by.is_null()))
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
