"""JSON API v1: the contract kiosks, phones and scripts rely on (canteen/openapi.json)."""
import datetime as dt
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from peewee import IntegrityError, fn

from ..access import DEVICE_COOKIE, PHONE_COOKIE, actor, allow, current_kiosk, public
from ..clock import clock
from ..db import write_transaction
from ..i18n import current_language
from ..models import Dish, MenuItem, utcnow
from ..safety import schema as safety_schema
from ..safety import service as safety_service
from ..safety.models import SafetyRecord
from ..vocabulary import MEALS
from . import follow_up as feedback
from . import limits, qr, votes
from .models import Rating, RatingTag
from .payload import PayloadError, read_rating

bp = Blueprint("api", __name__, url_prefix="/api/v1")

OPENAPI = Path(__file__).parent.parent / "openapi.json"  # one document for every audience


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
    try:  # WSGI hands headers over as latin-1; a kiosk named 灯房 sent UTF-8
        name = name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    name = "".join(c for c in name if c.isprintable())
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


@bp.after_request
def _vary_by_language(response):
    # names and messages follow Accept-Language: shared caches must keep languages apart
    response.vary.add("Accept-Language")
    return response


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
        announcements=feedback.announcements(lang, clock().today(), current_app.config["ANNOUNCE_DAYS"]),
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
    config = current_app.config
    now = utcnow()
    try:
        vote = read_rating(payload, reason_tags(), now=now, max_age_days=config["REPLAY_MAX_DAYS"])
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
    if vote.channel == "phone" and not request.cookies.get(PHONE_COOKIE):
        # one vote per phone needs the phone's cookie, set by the page the QR code opens
        return error("Phone votes come from the page a QR code opens; open it again (cookies on).",
                     "channel", 403)

    voted_at = vote.voted_at or now
    local = clock().to_local(voted_at)
    slot = clock().slot(local)
    served = MenuItem.meal_serving(vote.dish_id, slot, local.date())
    if served is None:
        # A retry may arrive after its meal is over: it was stored, so it still succeeds.
        earlier = Rating.get_or_none(Rating.client_id == vote.client_id)
        if earlier is not None:
            return replay(earlier, vote)
        if not Dish.select().where(Dish.id == vote.dish_id).exists():
            return error(f"There is no dish with id {vote.dish_id}.", "dish_id")
        return error(f"Dish {vote.dish_id} is not on the menu of that day.", "dish_id")

    day, meal = served
    kiosk = kiosk_name() if vote.channel == "kiosk" else None
    key = person_key(vote)
    burst_limit = config["BURST_PER_MINUTE_PHONE" if vote.channel == "phone" else "BURST_PER_MINUTE_KIOSK"]
    debounce = dt.timedelta(seconds=config["KIOSK_DEBOUNCE_SECONDS"])
    recent = votes.recent_from_device(kiosk, key, voted_at, burst_limit, debounce)
    flag = votes.flag_reason(
        votes_in_last_minute=votes.burst_count(recent, voted_at),
        burst_limit=burst_limit, voted_local=local, meal_window=clock().window(meal).occurrence(day),
        early_minutes=30, late_hours=config["LATE_VOTE_HOURS"],
        token_age=source.age if source and source.kind == "kiosk" else None,
        token_max_age=source.max_age if source else None)
    repeats = [] if key else votes.debounced(recent, vote.dish_id, vote.score, voted_at, debounce)
    try:
        with write_transaction():
            rating_id = Rating.insert(dish=vote.dish_id, score=vote.score, channel=vote.channel,
                                      kiosk=kiosk, client_id=vote.client_id, day=day, meal=meal,
                                      created_at=now, voted_at=voted_at, voter_key=key, flag=flag,
                                      comment=vote.comment, source=source_label(source),
                                      place=vote_place(kiosk, source),
                                      shift=clock().shift(local)).execute()
            if vote.tags:
                RatingTag.insert_many([(rating_id, t) for t in vote.tags],
                                      fields=[RatingTag.rating, RatingTag.tag]).execute()
            votes.settle_repeats(rating_id, dish_id=vote.dish_id, day=day, meal=meal, key=key,
                                 voted_at=voted_at, per_meal=config["ONE_VOTE_PER"] == "meal",
                                 repeats=repeats)
            words = feedback.safety_words(vote.comment)
            if words:  # a foreign object, an illness: the manager hears of it now, not in a report
                dish = Dish.get_by_id(vote.dish_id)
                feedback.raise_safety_comment(rating_id, dish.name_zh, dish.name_en, day, meal, words)
    except IntegrityError:
        # Inserting first and catching the duplicate key costs one query less than looking
        # first, and is the only check that holds when two retries race each other.
        earlier = Rating.get_or_none(Rating.client_id == vote.client_id)
        if earlier is None:
            raise
        return replay(earlier, vote)
    return jsonify(id=rating_id, day=day.isoformat(), meal=meal, flag=flag), 201


TOKEN_ERRORS = {
    "forged": "This QR code is not one of ours.",
    "expired": "This QR code has expired; scan the code on the kiosk again.",
    "revoked": "This QR card is no longer in use; ask the canteen for a new one.",
}


def person_key(vote):
    """Who voted, as an HMAC: the staff card read at the kiosk, else the phone's cookie."""
    if vote.employee_no:
        return votes.voter_key(current_app.config["SECRET_KEY"], "card", vote.employee_no)
    return phone_key() if vote.channel == "phone" else None


def phone_key():
    """The HMAC of this phone's cookie (None without one): its votes' voter_key."""
    phone = request.cookies.get(PHONE_COOKIE)
    return votes.voter_key(current_app.config["SECRET_KEY"], "phone", phone[:64]) if phone else None


def vote_place(kiosk, source):
    """Where the vote was cast, for the reports: the paired kiosk's location (else its name),
    the QR card's location, or the kiosk whose screen showed the QR code."""
    paired = current_kiosk() if kiosk else None
    place = (paired.location or paired.name) if paired is not None else kiosk
    if not place and source is not None:
        place = source.place or source.kiosk
    return (place or "")[:80]


def source_label(source):
    if source is None:
        return None
    return f"card:{source.card_id}" if source.kind == "card" else f"kiosk-qr:{source.kiosk}"[:64]


def replay(earlier, vote):
    if earlier.dish_id != vote.dish_id or earlier.score != vote.score:
        return error("This client_id was already used for a different vote.", "client_id", 409)
    return jsonify(id=earlier.id, day=earlier.day.isoformat(), meal=earlier.meal, flag=earlier.flag), 200


@bp.get("/summary")
@allow("union", "manager", "admin")
def summary():
    """Votes per dish for one service day (default today): counted votes only, with how many
    flagged and replaced votes were left out."""
    try:
        day = dt.date.fromisoformat(request.args["day"]) if "day" in request.args else clock().today()
    except ValueError:
        return error("day must be a date like 2026-11-26.", "day")
    lang = current_language()
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
                      "mean": round(float(r.mean), 2)} for r in rows), key=lambda d: -d["votes"])
    return jsonify(day=day.isoformat(), dishes=dishes, left_out=left_out)


# --- food-safety logs -------------------------------------------------------------

def read_json_object():
    """The request's JSON object, or an error response."""
    if not request.is_json:
        return None, error("Send the entry as JSON with Content-Type: application/json.", "body", 400)
    try:
        payload = json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError):
        return None, error("The body is not valid JSON.", "body", 400)
    if not isinstance(payload, dict):
        return None, error("The body must be a JSON object.", "body", 400)
    return payload, None


def entry_errors(e):
    field, message = next(iter(e.errors.items()))
    return jsonify(error=message, field=field, errors=e.errors), 422


def safety_json(record):
    return {"id": record.id, "kind": record.kind, "version": record.version, "author": record.author,
            "occurred_at": record.occurred_at.isoformat() + "Z", "recorded_at": record.recorded_at.isoformat() + "Z",
            "late": record.late_by is not None, "values": record.values()}


def verdict_json(verdict):
    """The 4D verdict as the API promises it; `warnings` repeats each finding as one sentence."""
    lang = current_language()
    findings = [{"item": f.item, "d": f.d, "severity": f.severity, "message": f.message(lang),
                 "value": f.value, "limit": f.limit, "action": f.action(lang)} for f in verdict.findings]
    return {"verdict": verdict.verdict, "checklist_version": verdict.version, "findings": findings,
            "warnings": [f"{f['message']} — {f['action']}" for f in findings]}


@bp.post("/safety/<kind_name>")
@allow("manager")
def create_safety_record(kind_name):
    """Store one food-safety log entry (a thermometer, a scale or a script may post it)."""
    if kind_name not in safety_schema.KINDS:
        return error(f"Unknown log kind {kind_name[:40]!r}; use one of {', '.join(safety_schema.KINDS)}.",
                     "kind", 404)
    payload, failure = read_json_object()
    if failure:
        return failure
    try:
        record, verdict = safety_service.create(kind_name, payload, actor())
    except safety_schema.EntryErrors as e:
        return entry_errors(e)
    return jsonify(dict(safety_json(record), **verdict_json(verdict))), 201


@bp.post("/safety/<kind_name>/<int:record_id>/amendments")
@allow("manager")
def amend_safety_record(kind_name, record_id):
    """Correct an entry: {"entry": {...the whole entry as it should read...}, "reason": "..."}."""
    record = SafetyRecord.get_or_none((SafetyRecord.id == record_id) & (SafetyRecord.kind == kind_name))
    if record is None:
        return error("There is no such entry.", None, 404)
    payload, failure = read_json_object()
    if failure:
        return failure
    try:
        amendment, verdict = safety_service.amend(record, payload.get("entry"), payload.get("reason"), actor())
    except safety_schema.EntryErrors as e:
        return entry_errors(e)
    return jsonify(dict(safety_json(record), amendment=amendment.version, **verdict_json(verdict))), 201


@bp.get("/safety/<kind_name>")
@allow("manager", "union", "admin")
def list_safety_records(kind_name):
    """Entries of one log, newest first (?from=&to= dates; default the last 30 days)."""
    if kind_name not in safety_schema.KINDS:
        return error(f"Unknown log kind {kind_name[:40]!r}.", "kind", 404)
    try:
        end = dt.date.fromisoformat(request.args.get("to") or clock().today().isoformat())
        start = dt.date.fromisoformat(request.args.get("from") or (end - dt.timedelta(days=30)).isoformat())
    except (ValueError, OverflowError):
        return error("from and to must be dates like 2026-11-26.", "from")
    rows = (SafetyRecord.select()
            .where((SafetyRecord.kind == kind_name) & SafetyRecord.day.between(start, end))
            .order_by(SafetyRecord.occurred_at.desc()).limit(1000))
    return jsonify(kind=kind_name, records=[safety_json(r) for r in rows])
