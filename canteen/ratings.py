"""Reading a rating payload: pure checks, no Flask, no database.

Everything a client may get wrong is caught here, before anything is written, with a
message a person can act on and the name of the field at fault.
"""
import re
from typing import NamedTuple

CHANNELS = ("kiosk", "phone")
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
MAX_TAGS = 10


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


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def read_rating(payload, allowed_tags):
    """Validate a decoded JSON body; return a RatingInput or raise PayloadError."""
    if not isinstance(payload, dict):
        raise PayloadError("The body must be a JSON object.", "body", 400)

    dish_id = payload.get("dish_id")
    if dish_id is None:
        raise PayloadError("dish_id is required.", "dish_id")
    if not _is_int(dish_id) or dish_id < 1:
        raise PayloadError("dish_id must be a positive whole number.", "dish_id")

    score = payload.get("score")
    if score is None:
        raise PayloadError("score is required.", "score")
    if not _is_int(score) or not 1 <= score <= 5:
        raise PayloadError("score must be a whole number from 1 to 5.", "score")

    tags = payload.get("tags", [])
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

    channel = payload.get("channel", "kiosk")
    if channel not in CHANNELS:
        raise PayloadError(f"channel must be one of {', '.join(CHANNELS)}.", "channel")

    client_id = payload.get("client_id")
    if client_id is None:
        raise PayloadError("client_id is required (a key the client makes once per vote).",
                           "client_id")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise PayloadError("client_id must be 8-64 characters: letters, digits, . _ : -",
                           "client_id")

    return RatingInput(dish_id, score, tuple(sorted(set(tags))), channel, client_id)
