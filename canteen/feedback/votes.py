"""Trustworthy votes: one per person per dish per day, suspicious ones flagged, never dropped.

`cast` is the vote: every channel (the kiosk's and the phone's JSON API, tests, scripts)
calls it with a checked payload and who sent it, and gets back what happened.

Who voted is known only as a keyed hash (HMAC with a server secret) of a staff card number or
a phone's random cookie: enough to see that two votes came from the same person, useless for
finding out who that person is. Flagged and replaced votes stay in the table; summaries count
`Rating.counted()` and say how many they left out.
"""
import datetime as dt
import hashlib
import hmac
import secrets
from typing import NamedTuple

from flask import current_app
from itsdangerous import BadSignature, Signer
from peewee import IntegrityError, SqliteDatabase, fn

from ..access import demo_mode
from ..clock import clock
from ..db import db_time, execute, grouped_write, inserted_id, lock_row, write_transaction
from ..models import Dish, MenuItem, database, utcnow
from . import follow_up
from .models import Rating, RatingTag

FLAGS = ("burst", "outside_meal", "token_near_expiry", "withdrawn")
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


def menu_and_device(dish_id, slot, today, kiosk, key, voted_at, burst_limit):
    """What a vote's rules read before its transaction, in one round trip:
    - the meals serving `dish_id` on the slot's service day or today: {(day, meal)};
    - how many votes the device cast in the minute up to `voted_at` (counted up to
      `burst_limit`, all the burst flag needs).
    (The kiosk's debounce is read inside the transaction: kiosk_repeats.)

    Every vote runs it, so it is plain SQL on the menu's and the (kiosk, voted_at) /
    (voter_key, …) indexes, and it reads no row the answer does not need.
    """
    p = database.param
    sql = (f"SELECT 0, m.day, m.meal, NULL FROM menu_item m "
           f"JOIN dish d ON d.id = m.dish_id WHERE m.dish_id = {p} AND d.active AND m.day IN ({p}, {p})")
    params = [dish_id, slot.day.isoformat(), today.isoformat()]
    if key or kiosk:
        device = "voter_key = " + p if key else f"kiosk = {p} AND voter_key IS NULL"
        sql += (f" UNION ALL SELECT 1, NULL, NULL, COUNT(*) FROM (SELECT 1 AS one FROM rating "
                f"WHERE {device} AND voted_at >= {p} AND voted_at <= {p} LIMIT {int(burst_limit)}) AS burst")
        params += [key or kiosk, db_time(voted_at - BURST_WINDOW), db_time(voted_at)]
    served, burst = set(), 0
    for kind, day, meal, number in database.execute_sql(sql, params).fetchall():
        if kind == 0:
            served.add((day if isinstance(day, dt.date) else dt.date.fromisoformat(day), meal))
        else:
            burst = number
    return served, burst


DEVICE_LOCK = 7262737  # PostgreSQL advisory locks (this, device): one device's votes take turns


def one_device_at_a_time(device):
    """Inside a vote's transaction on PostgreSQL, wait for any other vote of the same person or
    kiosk to commit, so that it is seen as earlier (one vote per person, the debounce). SQLite
    writers take turns already."""
    if device and not isinstance(database.obj, SqliteDatabase):
        database.execute_sql(f"SELECT pg_advisory_xact_lock({DEVICE_LOCK}, hashtext({database.param}))",
                             (device,))


def kiosk_repeats(kiosk, dish_id, score, voted_at, debounce, rating_id):
    """The same face for the same dish from a kiosk without a card within `debounce` of
    `voted_at` that still counts, other than `rating_id`: [(id, voted_at)]. Read inside the
    insert's transaction, so that two presses sent at the same moment see each other."""
    p = database.param
    sql = (f"SELECT id, voted_at FROM rating WHERE kiosk = {p} AND voter_key IS NULL AND dish_id = {p} "
           f"AND score = {p} AND replaced_by IS NULL AND voted_at >= {p} AND voted_at <= {p} AND id <> {p}")
    params = (kiosk, dish_id, score, db_time(voted_at - debounce), db_time(voted_at + debounce), rating_id)
    return [(i, _as_datetime(when)) for i, when in database.execute_sql(sql, params).fetchall()]


RATING_COLUMNS = (Rating.dish, Rating.score, Rating.channel, Rating.kiosk, Rating.client_id, Rating.day,
                  Rating.meal, Rating.created_at, Rating.voted_at, Rating.voter_key, Rating.flag,
                  Rating.comment, Rating.source, Rating.place, Rating.shift)


def insert_rating(*values):
    """INSERT one rating (values in RATING_COLUMNS order) from SQL built once: its id."""
    return inserted_id(execute("rating.insert", lambda *v: Rating.insert(dict(zip(RATING_COLUMNS, v))),
                               values))


def insert_tags(rating_id, tags):
    params = [x for t in tags for x in (rating_id, t)]
    execute(f"rating_tag.insert.{len(tags)}",
            lambda *v: RatingTag.insert_many(list(zip(v[::2], v[1::2])), fields=[RatingTag.rating, RatingTag.tag]),
            params)


def repoint(ids, to):
    """Votes `ids` are replaced by vote `to` (None: they count again)."""
    if ids:
        execute(f"rating.repoint.{len(ids)}",
                lambda to, *ids: Rating.update(replaced_by=to).where(Rating.id.in_(list(ids))), (to, *ids))


def count_newest(votes):
    """Of one person's votes [(id, voted_at)], the newest counts and the others point at it:
    the newest's id."""
    keep = max(votes, key=lambda v: (v[1], v[0]))[0]
    repoint([i for i, _when in votes if i != keep], keep)
    return keep


def earlier_votes(key, dish_id, day, meal, rating_id, per_meal):
    """The person's other counted votes for the dish on that day (or meal): [(id, voted_at)]."""
    def build(key, dish_id, day, *rest):
        same = (Rating.voter_key == key) & (Rating.dish == dish_id) & (Rating.day == day)
        if per_meal:
            same &= Rating.meal == rest[0]
        return (Rating.select(Rating.id, Rating.voted_at)
                .where(same & (Rating.id != rest[-1]) & Rating.replaced_by.is_null()))
    params = (key, dish_id, day, meal, rating_id) if per_meal else (key, dish_id, day, rating_id)
    rows = execute(f"rating.earlier.{'meal' if per_meal else 'day'}", build, params).fetchall()
    return [(i, _as_datetime(when)) for i, when in rows]


def settle_repeats(rating_id, *, dish_id, day, meal, key, voted_at, per_meal, repeats=()):
    """Make the newest vote of a person (or an identical press repeated on one kiosk) the one
    that counts: earlier ones get replaced_by; a replayed vote older than one already stored
    is itself replaced. Run inside the insert's transaction. `repeats`: [(id, voted_at)]."""
    earlier = earlier_votes(key, dish_id, day, meal, rating_id, per_meal) if key else list(repeats)
    if earlier:
        count_newest([*earlier, (rating_id, voted_at)])


class Sender(NamedTuple):
    """Who sent a vote, as its channel knows it."""
    kiosk: str = None  # the kiosk's name, for kiosk votes
    place: str = None  # where a paired kiosk stands (its location, else its name)
    phone: str = None  # the phone's id from the cookie the server issued it, for phone votes
    paired: bool = False  # the kiosk holds a device credential (outside demo mode: required)
    card_reader: bool = False  # the kiosk has a staff-card reader (employee_no allowed)


class Outcome(NamedTuple):
    """What became of a vote: 201 stored, 200 a retry of a stored vote, 4xx refused (`error`)."""
    status: int
    rating_id: int = None
    day: dt.date = None
    meal: str = None
    flag: str = None
    error: str = None
    field: str = None


def refused(message, field, status=422):
    return Outcome(status, error=message, field=field)


def cast(vote, sender, source=None, now=None):
    """Store one checked vote (a payload.RatingInput) with every rule a vote has: the menu of
    its meal, one vote per person, the kiosk debounce, flags, reason chips and the safety
    words of a comment, all in one transaction. `source` is the QR token it came with."""
    config = current_app.config
    now = now or utcnow()
    unwelcome = refusal(vote, sender)
    if unwelcome:
        return unwelcome
    voted_at = vote.voted_at or now
    local = clock().to_local(voted_at)
    slot = clock().slot(local)
    kiosk = sender.kiosk if vote.channel == "kiosk" else None
    key = person_key(vote, sender)
    burst_limit = config["BURST_PER_MINUTE_PHONE" if vote.channel == "phone" else "BURST_PER_MINUTE_KIOSK"]
    debounce = dt.timedelta(seconds=config["KIOSK_DEBOUNCE_SECONDS"])
    found, burst = menu_and_device(vote.dish_id, slot, local.date(), kiosk, key, voted_at, burst_limit)
    served = MenuItem.meal_serving(found, slot)
    if served is None:
        # A retry may arrive after its meal is over: it was stored, so it still succeeds.
        earlier = Rating.get_or_none(Rating.client_id == vote.client_id)
        if earlier is not None:
            return replay(earlier, vote)
        if not Dish.select().where(Dish.id == vote.dish_id).exists():
            return refused(f"There is no dish with id {vote.dish_id}.", "dish_id")
        return refused(f"Dish {vote.dish_id} is not on the menu of that day.", "dish_id")

    day, meal = served
    flag = flag_reason(
        votes_in_last_minute=burst,
        burst_limit=burst_limit, voted_local=local, meal_window=clock().window(meal).occurrence(day),
        early_minutes=30, late_hours=config["LATE_VOTE_HOURS"],
        token_age=source.age if source and source.kind == "kiosk" else None,
        token_max_age=source.max_age if source else None)
    values = (vote.dish_id, vote.score, vote.channel, kiosk, vote.client_id, day, meal, now, voted_at, key, flag,
              vote.comment, source_label(source), vote_place(kiosk, sender, source), clock().shift(local))
    per_meal = config["ONE_VOTE_PER"] == "meal"
    words = follow_up.safety_words(vote.comment)

    def store():
        one_device_at_a_time(key or kiosk)
        rating_id = insert_rating(*values)
        if vote.tags:
            insert_tags(rating_id, vote.tags)
        repeats = () if key or not kiosk else kiosk_repeats(kiosk, vote.dish_id, vote.score, voted_at,
                                                            debounce, rating_id)
        settle_repeats(rating_id, dish_id=vote.dish_id, day=day, meal=meal, key=key,
                       voted_at=voted_at, per_meal=per_meal, repeats=repeats)
        if words:  # a foreign object, an illness: the manager hears of it now, not in a report
            dish = Dish.get_by_id(vote.dish_id)
            follow_up.raise_safety_comment(rating_id, dish.name_zh, dish.name_en, day, meal, words)
        return rating_id

    try:
        rating_id = grouped_write(store)  # with the votes of other kiosks in the same commit
    except IntegrityError:
        # Inserting first and catching the duplicate key costs one query less than looking
        # first, and is the only check that holds when two retries race each other.
        earlier = Rating.get_or_none(Rating.client_id == vote.client_id)
        if earlier is None:
            raise
        return replay(earlier, vote)
    return Outcome(201, rating_id, day, meal, flag)


def refusal(vote, sender):
    """Who may vote: outside demo mode a paired kiosk or a phone with the cookie the server
    issued; a staff card number only from a kiosk with a card reader. None when welcome."""
    if vote.channel == "kiosk" and not sender.paired and not demo_mode():
        return refused("Votes come from a paired kiosk or a phone that scanned a QR code; "
                       "ask the administrator to pair this screen.", "kiosk", 403)
    if vote.channel == "phone" and not sender.phone:
        # one vote per phone needs the phone's cookie, set by the page the QR code opens
        return refused("Phone votes come from the page a QR code opens; open it again (cookies on).",
                       "channel", 403)
    if vote.employee_no and not sender.card_reader:
        return refused("Staff card numbers come only from a kiosk whose card reader is switched on.",
                       "employee_no", 403)
    return None


def change(client_id, sender, change, now=None):
    """Add reasons to a stored vote or withdraw it (payload.ChangeInput): only from the device
    that cast it, and only for VOTE_CHANGE_SECONDS after it was cast."""
    now = now or utcnow()
    rating = Rating.get_or_none(Rating.client_id == client_id)
    if rating is None:
        return refused("There is no vote with this client_id.", "client_id", 404)
    if not cast_by(rating, sender):
        return refused("Only the kiosk or phone that cast a vote may change it.", "client_id", 403)
    if rating.withdrawn_at is not None:
        if change.withdraw:  # the same withdrawal again (an offline kiosk's retry): done already
            return changed(rating)
        return refused("This vote was withdrawn; cast a new one.", "client_id", 409)
    # The window runs from the vote to the change as the device saw them (an offline kiosk
    # delivers both late), and the server stored the vote at most that long ago too, so no
    # device can take back a vote it sent in the past by claiming an early changed_at.
    window = dt.timedelta(seconds=current_app.config["VOTE_CHANGE_SECONDS"])
    voted_at = rating.voted_at or rating.created_at
    changed_at = max(change.changed_at or now, voted_at)
    if changed_at - voted_at > window or now - rating.created_at > window:
        return refused("A vote can be changed only in the first minutes after it was cast.", "changed_at", 409)
    with write_transaction():
        lock_row(Rating, rating.id)  # two changes of one vote take turns, or each deletes what the other added
        if change.withdraw:
            withdraw(rating, now)
        else:
            set_tags(rating.id, change.tags)
    return changed(Rating.get_by_id(rating.id))


def cast_by(rating, sender):
    if rating.channel == "phone":
        return bool(sender.phone) and rating.voter_key == phone_key(sender.phone)
    return (sender.paired or demo_mode()) and sender.kiosk == rating.kiosk


def withdraw(rating, now):
    """Keep the vote, marked withdrawn and left out of every count; a vote it had replaced
    (the same person's earlier one) counts again."""
    Rating.update(flag="withdrawn", withdrawn_at=now).where(Rating.id == rating.id).execute()
    earlier = [(r.id, r.voted_at) for r in Rating.select(Rating.id, Rating.voted_at)
               .where(Rating.replaced_by == rating.id)]
    if earlier:
        repoint([count_newest(earlier)], None)


def set_tags(rating_id, tags):
    """The vote's reasons become exactly `tags` (a retried change does no harm)."""
    have = {t for (t,) in RatingTag.select(RatingTag.tag).where(RatingTag.rating == rating_id).tuples()}
    gone, new = have - set(tags), set(tags) - have
    if gone:
        RatingTag.delete().where((RatingTag.rating == rating_id) & RatingTag.tag.in_(sorted(gone))).execute()
    if new:  # two changes racing: the second insert of a reason is no error
        (RatingTag.insert_many([(rating_id, t) for t in sorted(new)], fields=[RatingTag.rating, RatingTag.tag])
         .on_conflict_ignore().execute())


def tags_of(rating_id):
    return [t for (t,) in RatingTag.select(RatingTag.tag).where(RatingTag.rating == rating_id)
            .order_by(RatingTag.tag).tuples()]


def changed(rating):
    return Outcome(200, rating.id, rating.day, rating.meal, rating.flag)


def replay(earlier, vote):
    """A client_id seen before: the same vote answers as stored, another vote is refused."""
    if earlier.dish_id != vote.dish_id or earlier.score != vote.score:
        return refused("This client_id was already used for a different vote.", "client_id", 409)
    return Outcome(200, earlier.id, earlier.day, earlier.meal, earlier.flag)


def person_key(vote, sender):
    """Who voted, as an HMAC: the staff card read at the kiosk, else the phone's cookie."""
    if vote.employee_no:
        return voter_key(current_app.config["SECRET_KEY"], "card", vote.employee_no)
    return phone_key(sender.phone) if vote.channel == "phone" else None


def _phone_signer():
    return Signer(current_app.config["SECRET_KEY"], salt="canteen.phone-id")


def issue_phone_cookie():
    """A new phone id, signed: the server knows every id it issued without storing any."""
    return _phone_signer().sign(secrets.token_urlsafe(16)).decode()


def phone_id(cookie):
    """The phone id in a canteen_phone cookie, or None when the server did not issue it."""
    if not cookie or len(cookie) > 200:
        return None
    try:
        return _phone_signer().unsign(cookie).decode()
    except (BadSignature, UnicodeError):
        return None


def phone_key(cookie):
    """The HMAC of a phone's cookie (None without one): its votes' voter_key."""
    return voter_key(current_app.config["SECRET_KEY"], "phone", cookie[:64]) if cookie else None


def vote_place(kiosk, sender, source):
    """Where the vote was cast, for the reports: the paired kiosk's location (else its name),
    the QR card's location, or the kiosk whose screen showed the QR code."""
    place = (sender.place or kiosk) if kiosk else None
    if not place and source is not None:
        place = source.place or source.kiosk
    return (place or "")[:80]


def source_label(source):
    if source is None:
        return None
    return f"card:{source.card_id}" if source.kind == "card" else f"kiosk-qr:{source.kiosk}"[:64]


def day_summary(day, lang, min_group=5):
    """Counted votes per dish on one service day, and how many flagged and replaced votes were
    left out: ([{"id", "name", "votes", "mean", "suppressed"}], {"flagged": n, "replaced": n}).
    A dish with fewer than `min_group` voters has no mean, as in every report: two or three
    faces from one meal would point at the miners who gave them."""
    rows = (Rating.counted()
            .select(Rating.dish, fn.COUNT(Rating.id).alias("votes"), fn.AVG(Rating.score).alias("mean"))
            .where(Rating.day == day)
            .group_by(Rating.dish))
    names = {d.id: d.name(lang) for d in Dish.select().where(Dish.id.in_([r.dish_id for r in rows]))}
    left_out = {
        "flagged": Rating.select().where((Rating.day == day) & Rating.flag.is_null(False)).count(),
        "replaced": Rating.select().where((Rating.day == day) & Rating.replaced_by.is_null(False)
                                          & Rating.flag.is_null()).count(),
    }
    dishes = sorted(({"id": r.dish_id, "name": names.get(r.dish_id), "votes": r.votes,
                      "mean": None if r.votes < min_group else round(float(r.mean), 2),
                      "suppressed": r.votes < min_group} for r in rows), key=lambda d: -d["votes"])
    return dishes, left_out
