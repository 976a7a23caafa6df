"""JSON API v1: the contract kiosks, phones and scripts rely on (canteen/openapi.json)."""
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from peewee import IntegrityError

from .access import DEVICE_COOKIE, current_kiosk, public
from .clock import clock
from .i18n import current_language
from .db import write_transaction
from .models import Dish, MenuItem, Rating, RatingTag, utcnow
from .ratings import PayloadError, read_rating
from .vocabulary import MEALS

bp = Blueprint("api", __name__, url_prefix="/api/v1")

OPENAPI = Path(__file__).parent / "openapi.json"


def error(message, field=None, status=422):
    return jsonify(error=message, field=field), status


def reason_tags():
    return current_app.extensions["canteen_reason_tags"]


def kiosk_name():
    """The sending kiosk: its paired device, else its header, else the configured default."""
    paired = current_kiosk()
    if paired is not None:
        return paired.name
    name = (request.headers.get("X-Canteen-Kiosk") or "").strip()
    return name[:64] or current_app.config["KIOSK_NAME"]


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


@bp.before_request
def _small_bodies():
    # A rating is a few hundred bytes; refuse anything far larger before reading it.
    request.max_content_length = current_app.config["API_MAX_BODY_BYTES"]


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3 description of this API."""
    return Response(OPENAPI.read_bytes(), mimetype="application/json")


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
    )


@bp.post("/ratings")
@public
def create_rating():
    """Store one vote; a repeated client_id returns the first vote's id (idempotent)."""
    if request.cookies.get(DEVICE_COOKIE) and current_kiosk() is None:
        return error("This kiosk's pairing was revoked or replaced; ask the administrator to pair it again.",
                     None, 403)
    if not request.is_json:
        return error("Send the rating as JSON with Content-Type: application/json.", "body", 400)
    try:
        payload = json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError):
        return error("The body is not valid JSON.", "body", 400)
    try:
        vote = read_rating(payload, reason_tags())
    except PayloadError as e:
        return error(e.message, e.field, e.status)

    served = MenuItem.meal_serving(vote.dish_id, clock().slot(), clock().today())
    if served is None:
        # A retry may arrive after its meal is over: it was stored, so it still succeeds.
        earlier = Rating.get_or_none(Rating.client_id == vote.client_id)
        if earlier is not None:
            return replay(earlier, vote)
        if not Dish.select().where(Dish.id == vote.dish_id).exists():
            return error(f"There is no dish with id {vote.dish_id}.", "dish_id")
        return error(f"Dish {vote.dish_id} is not on today's menu.", "dish_id")

    day, meal = served
    try:
        with write_transaction():
            rating_id = Rating.insert(dish=vote.dish_id, score=vote.score, channel=vote.channel,
                                      kiosk=kiosk_name() if vote.channel == "kiosk" else None,
                                      client_id=vote.client_id, day=day, meal=meal,
                                      created_at=utcnow()).execute()
            if vote.tags:
                RatingTag.insert_many([(rating_id, t) for t in vote.tags],
                                      fields=[RatingTag.rating, RatingTag.tag]).execute()
    except IntegrityError:
        # Inserting first and catching the duplicate key costs one query less than looking
        # first, and is the only check that holds when two retries race each other.
        earlier = Rating.get_or_none(Rating.client_id == vote.client_id)
        if earlier is None:
            raise
        return replay(earlier, vote)
    return jsonify(id=rating_id, day=day.isoformat(), meal=meal), 201


def replay(earlier, vote):
    if earlier.dish_id != vote.dish_id or earlier.score != vote.score:
        return error("This client_id was already used for a different vote.", "client_id", 409)
    return jsonify(id=earlier.id, day=earlier.day.isoformat(), meal=earlier.meal), 200
