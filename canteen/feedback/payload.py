"""Reading a rating payload: pure checks, no Flask, no database.

Everything a client may get wrong is caught here, before anything is written, with a
message a person can act on and the name of the field at fault.
"""
import datetime as dt
import re
import unicodedata
from typing import NamedTuple

CHANNELS = ("kiosk", "phone")
CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")  # used with fullmatch: no trailing newline
EMPLOYEE_NO = re.compile(r"[A-Za-z0-9]{4,20}")
MAX_ID = 2**31 - 1
MAX_TAGS = 10
MAX_COMMENT = 500
CLOCK_SKEW = dt.timedelta(minutes=5)


class PayloadError(ValueError):
    def __init__(self, message, field, status=422):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class RatingInput(NamedTuple):
    dish_id: int
    score: int
    tags: tuple
    channel: str
    client_id: str
    voted_at: dt.datetime = None  # naive UTC; None: now
    comment: str = None
    qr_token: str = None
    employee_no: str = None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def read_voted_at(value, now, max_age_days):
    """An ISO 8601 time (with zone) → naive UTC, not in the future and not too old."""
    if not isinstance(value, str):
        raise PayloadError("voted_at must be an ISO 8601 time, e.g. 2026-11-26T12:05:00Z.", "voted_at")
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if when.tzinfo is None:
            raise PayloadError("voted_at needs a time zone (Z or +08:00).", "voted_at")
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise PayloadError("voted_at must be an ISO 8601 time, e.g. 2026-11-26T12:05:00Z.", "voted_at") from None
    if when > now + CLOCK_SKEW:
        raise PayloadError("voted_at is in the future; check the kiosk's clock.", "voted_at")
    if when < now - dt.timedelta(days=max_age_days):
        raise PayloadError(f"voted_at is more than {max_age_days} days old.", "voted_at")
    return when


def read_comment(value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError("comment must be text.", "comment")
    # drop control characters (keep line breaks); the text is shown escaped everywhere
    text = "".join(c for c in value if c in "\n" or unicodedata.category(c)[0] != "C").strip()
    if len(text) > MAX_COMMENT:
        raise PayloadError(f"comment may have at most {MAX_COMMENT} characters.", "comment")
    return text or None


def read_tags(tags, allowed_tags):
    """A list of reason codes → a sorted tuple without repeats."""
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise PayloadError("tags must be a list of strings.", "tags")
    if len(tags) > MAX_TAGS:
        raise PayloadError(f"At most {MAX_TAGS} tags may be given.", "tags")
    unknown = [t for t in tags if t not in allowed_tags]
    if unknown:
        raise PayloadError(f"Unknown tag {unknown[0][:40]!r}; allowed: {', '.join(allowed_tags)}.",
                           "tags")
    return tuple(sorted(set(tags)))


class ChangeInput(NamedTuple):
    tags: tuple = None  # the vote's reasons as they should now be; None: unchanged
    withdraw: bool = False
    changed_at: dt.datetime = None  # naive UTC, when the miner changed it; None: now


def read_change(payload, allowed_tags, now=None, max_age_days=7, withdraw=False):
    """A change of a stored vote: {"tags": [...]} and/or {"withdrawn": true}, with an optional
    "changed_at" (an offline kiosk delivers changes late, with their own time)."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise PayloadError("The body must be a JSON object.", "body", 400)
    unknown = sorted(set(payload) - {"tags", "withdrawn", "changed_at"})
    if unknown:
        raise PayloadError(f"Unknown field {unknown[0][:40]!r}; a vote's change has tags, withdrawn "
                           "and changed_at.", unknown[0][:40])
    tags = read_tags(payload["tags"], allowed_tags) if "tags" in payload else None
    withdrawn = payload.get("withdrawn", withdraw)
    if not isinstance(withdrawn, bool):
        raise PayloadError("withdrawn must be true or false.", "withdrawn")
    if not withdrawn and tags is None:
        raise PayloadError("Say what changes: tags, or withdrawn: true.", "tags")
    if withdrawn and tags is not None:
        raise PayloadError("A withdrawn vote has no reasons: send tags or withdrawn, not both.", "tags")
    changed_at = None
    if payload.get("changed_at") is not None:
        now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        try:
            changed_at = read_voted_at(payload["changed_at"], now, max_age_days)
        except PayloadError as e:
            raise PayloadError(e.message.replace("voted_at", "changed_at"), "changed_at") from None
    return ChangeInput(tags, withdrawn, changed_at)


def read_rating(payload, allowed_tags, now=None, max_age_days=7):
    """Validate a decoded JSON body; return a RatingInput or raise PayloadError.

    `now` (naive UTC) bounds voted_at, the original time of a vote replayed by an offline kiosk.
    """
    if not isinstance(payload, dict):
        raise PayloadError("The body must be a JSON object.", "body", 400)

    dish_id = payload.get("dish_id")
    if dish_id is None:
        raise PayloadError("dish_id is required.", "dish_id")
    if not _is_int(dish_id) or not 1 <= dish_id <= MAX_ID:
        raise PayloadError("dish_id must be a positive whole number.", "dish_id")

    score = payload.get("score")
    if score is None:
        raise PayloadError("score is required.", "score")
    if not _is_int(score) or not 1 <= score <= 5:
        raise PayloadError("score must be a whole number from 1 to 5.", "score")

    tags = read_tags(payload.get("tags", []), allowed_tags)

    channel = payload.get("channel", "kiosk")
    if channel not in CHANNELS:
        raise PayloadError(f"channel must be one of {', '.join(CHANNELS)}.", "channel")

    client_id = payload.get("client_id")
    if client_id is None:
        raise PayloadError("client_id is required (a key the client makes once per vote).",
                           "client_id")
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise PayloadError("client_id must be 8-64 characters: letters, digits, . _ : -",
                           "client_id")

    voted_at = payload.get("voted_at")
    if voted_at is not None:
        now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        voted_at = read_voted_at(voted_at, now, max_age_days)

    comment = read_comment(payload.get("comment"))

    qr_token = payload.get("qr_token")
    if qr_token is not None and (not isinstance(qr_token, str) or not 1 <= len(qr_token) <= 400):
        raise PayloadError("qr_token must be the token from the QR code.", "qr_token")
    if channel == "phone" and not qr_token:
        raise PayloadError("A phone vote needs the qr_token of the code that was scanned.", "qr_token")

    employee_no = payload.get("employee_no")
    if employee_no is not None:
        if channel != "kiosk":
            raise PayloadError("employee_no comes only from a kiosk's card reader.", "employee_no")
        if not isinstance(employee_no, str) or not EMPLOYEE_NO.fullmatch(employee_no.strip()):
            raise PayloadError("employee_no must be 4-20 letters or digits.", "employee_no")
        employee_no = employee_no.strip().upper()

    return RatingInput(dish_id, score, tags, channel, client_id,
                       voted_at, comment, qr_token, employee_no)
