"""The miners' JSON API: the menu, votes and the day's summary (described in canteen/openapi.json).

Views here parse the request and answer it; the vote's rules are `votes.cast`.
"""
import datetime as dt
from pathlib import Path

from flask import Response, current_app, jsonify, request, url_for

from ..access import (
    DEVICE_COOKIE,
    PHONE_COOKIE,
    allow,
    current_kiosk,
    demo_mode,
    public,
)
from ..clock import clock
from ..i18n import current_language
from ..jsonapi import blueprint, described, error, read_body
from ..models import Dish, utcnow
from ..vocabulary import MEALS
from . import follow_up, limits, qr, votes
from .payload import PayloadError, read_change, read_rating

bp = blueprint("api", __name__)

OPENAPI = Path(__file__).parent.parent / "openapi.json"  # one document for every audience

TOKEN_ERRORS = {
    "forged": "This QR code is not one of ours.",
    "expired": "This QR code has expired; scan the code on the kiosk again.",
    "revoked": "This QR card is no longer in use; ask the canteen for a new one.",
}


def dish_json(dish, day, lang):
    return {
        "id": dish.id,
        "name": dish.name(lang),
        "price": dish.price_fen / 100,
        "price_fen": dish.price_fen,
        "category": dish.category,
        "is_new": dish.is_new_on(day, current_app.config["TRIAL_DAYS"]),
        "photo_url": url_for("kiosk.photo", name=dish.photo) if dish.photo else None,
    }


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 description of this API, with this installation's settings in it."""
    return Response(described(OPENAPI.read_text(encoding="utf-8")), mimetype="application/json")


@bp.get("/menu/current")
@public
def current_menu():
    """Dishes of the meal being served now, or of the meal that ended last."""
    slot = clock().slot()
    lang = current_language()
    dishes = Dish.served_on(slot.day, slot.meal)
    return jsonify(
        meal=slot.meal,
        meal_name=str(MEALS.get(slot.meal, slot.meal)),
        date=slot.day.isoformat(),
        serving=slot.serving,
        dishes=[dish_json(d, slot.day, lang) for d in dishes],
        announcements=announcements(lang),
    )


def announcements(lang):
    """"You asked, we changed": the representatives' suggestions that came true first, then the
    canteen's other decisions and changes (a dish named by a suggestion appears once)."""
    from ..reports.suggestions import kept_for_kiosks, kiosk_items

    today, days = clock().today(), current_app.config["ANNOUNCE_DAYS"]

    def compute():
        asked = kiosk_items(lang, today, days)
        named = {a["dish_id"] for a in asked}
        return (asked + [a for a in follow_up.announcements(lang, today, days) if a["dish_id"] not in named])[:6]

    return kept_for_kiosks((lang, today, days), compute)


@bp.post("/ratings")
@public
def create_rating():
    """Store one vote; a repeated client_id returns the first vote's id (idempotent)."""
    unknown = unknown_device()
    if unknown:
        return unknown
    payload, failure = read_body("rating", object_only=False)
    if failure:
        return failure
    if len(request.headers.get("X-Canteen-Kiosk", "")) > 64:  # refused, never cut to fit
        return error("X-Canteen-Kiosk names a kiosk in at most 64 characters.", "X-Canteen-Kiosk", 422)
    now = utcnow()
    try:
        vote = read_rating(payload, current_app.extensions["canteen_reason_tags"], now=now,
                           max_age_days=current_app.config["REPLAY_MAX_DAYS"])
    except PayloadError as e:
        return error(e.message, e.field, e.status)
    source = None
    if vote.qr_token:
        try:
            source = qr.read_token(vote.qr_token, grace=2.0)
        except qr.TokenError as e:
            return error(TOKEN_ERRORS[e.reason], "qr_token")
    limited = limits.check_vote(source)
    if limited:
        return limited
    outcome = votes.cast(vote, sender(), source, now)
    if outcome.error:
        return error(outcome.error, outcome.field, outcome.status)
    return jsonify(id=outcome.rating_id, day=outcome.day.isoformat(), meal=outcome.meal,
                   flag=outcome.flag), outcome.status


@bp.route("/ratings/<client_id>", methods=["PATCH", "DELETE"])
@public
def change_rating(client_id):
    """Add reasons to a vote or withdraw it, from the device that cast it, for a few minutes.
    PATCH {"tags": [...]} sets its reasons, PATCH {"withdrawn": true} or DELETE withdraws it."""
    unknown = unknown_device()
    if unknown:
        return unknown
    payload, failure = read_body("change", object_only=False) if request.content_length else ({}, None)
    if failure:
        return failure
    try:
        change = read_change(payload, current_app.extensions["canteen_reason_tags"], now=utcnow(),
                             max_age_days=current_app.config["REPLAY_MAX_DAYS"],
                             withdraw=request.method == "DELETE")
    except PayloadError as e:
        return error(e.message, e.field, e.status)
    outcome = votes.change(client_id[:64], sender(), change)
    if outcome.error:
        return error(outcome.error, outcome.field, outcome.status)
    return jsonify(id=outcome.rating_id, client_id=client_id, tags=votes.tags_of(outcome.rating_id),
                   withdrawn=outcome.flag == "withdrawn", flag=outcome.flag), 200


def unknown_device():
    """Outside demo mode only paired kiosks and phones that opened a QR page may vote: anyone
    else is refused before the body is read. A revoked kiosk is told so (it keeps its votes)."""
    if request.cookies.get(DEVICE_COOKIE) and current_kiosk() is None:
        return error("This kiosk's pairing was revoked or replaced; ask the administrator to pair it again.",
                     "kiosk", 403)
    if demo_mode() or current_kiosk() is not None:
        return None
    phone = request.cookies.get(PHONE_COOKIE)
    if phone and votes.phone_id(phone):
        return None
    if phone:
        return error("This phone's id was not issued here; open the page of the QR code again (cookies on).",
                     "channel", 403)
    return error("Votes come from a paired kiosk or a phone that scanned a QR code; "
                 "ask the administrator to pair this screen.", "kiosk", 403)


def sender():
    """Who is sending, as far as this request tells: the kiosk (paired device; in demo mode
    also its header, else the configured default) and where it stands, and the phone's id."""
    config = current_app.config
    paired = current_kiosk()
    if paired is not None:  # a name in X-Canteen-Kiosk never overrides the device's identity
        return votes.Sender(kiosk=paired.name, place=paired.location or paired.name,
                            phone=votes.phone_id(request.cookies.get(PHONE_COOKIE)), paired=True,
                            card_reader=paired.card_reader)
    name = (request.headers.get("X-Canteen-Kiosk") or "").strip()
    try:  # WSGI hands headers over as latin-1; a kiosk named 灯房 sent UTF-8
        name = name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    name = "".join(c for c in name if c.isprintable())[:64] or config["KIOSK_NAME"]
    return votes.Sender(kiosk=name, phone=votes.phone_id(request.cookies.get(PHONE_COOKIE)),
                        card_reader=demo_mode() and config["KIOSK_CARD_READER"])


@bp.get("/summary")
@allow("union", "manager", "admin")
def summary():
    """Votes per dish for one service day (default today): counted votes only, with how many
    flagged and replaced votes were left out."""
    try:
        day = dt.date.fromisoformat(request.args["day"]) if "day" in request.args else clock().today()
    except ValueError:
        return error("day must be a date like 2026-11-26.", "day")
    dishes, left_out = votes.day_summary(day, current_language(), current_app.config["REPORT_MIN_GROUP"])
    return jsonify(day=day.isoformat(), dishes=dishes, left_out=left_out)
