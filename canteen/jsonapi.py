"""What every JSON endpoint shares: the /api/v1 blueprints' hooks, one error shape, one body reader.

The feedback and safety APIs are separate blueprints under the same prefix; both are
described by the one document canteen/openapi.json.

One language rule for every answer: what the API *says* to the program calling it — `error`
and `errors` — is English whatever the request asks (a script's author and its logs read it,
and a message must not change with the tablet the script was tested from); what it *shows* —
dish and meal names, the 4D findings and warnings a person will read — follows ?lang=, the
lang cookie, Accept-Language, else Chinese. Rules shared with the Chinese-first forms are run
`in_english()` by their API views.
"""
import json

from flask import Blueprint, current_app, jsonify, request
from flask_babel import force_locale

from .vocabulary import LANGUAGES

PREFIX = "/api/v1"
MAX_DEPTH = 16  # a rating or a log entry nests two or three levels


def blueprint(name, import_name):
    """A JSON API blueprint under /api/v1 with the hooks every such blueprint needs."""
    bp = Blueprint(name, import_name, url_prefix=PREFIX)
    bp.before_request(_small_bodies)
    bp.before_request(_known_language)
    bp.after_request(_vary_by_language)
    return bp


def _small_bodies():
    # A rating or a log entry is a few hundred bytes; refuse anything far larger before reading it.
    request.max_content_length = current_app.config["API_MAX_BODY_BYTES"]


def _known_language():
    # ?lang= names one of our languages or is absent: a typo is an error, not a silent default
    lang = request.args.get("lang")
    if lang is not None and lang not in LANGUAGES:
        return error(f"lang must be one of {', '.join(LANGUAGES)}.", "lang", 400)
    return None


def _vary_by_language(response):
    # names and messages follow Accept-Language: shared caches must keep languages apart
    response.vary.add("Accept-Language")
    return response


def in_english():
    """Messages made by rules the forms share come out in English (the API's language for errors)."""
    return force_locale("en")


def error(message, field=None, status=422, **extra):
    """The one error shape of the API: {"error": "…", "field": "…" | null}."""
    return jsonify(error=message, field=field, **extra), status


def too_deep(value, limit=MAX_DEPTH):
    """Whether `value` nests lists or objects more than `limit` deep (without recursing)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def read_body(noun, object_only=True):
    """The request's JSON body as (payload, None), or (None, an error response)."""
    if not request.is_json:
        return None, error(f"Send the {noun} as JSON with Content-Type: application/json.", "body", 415)
    try:
        payload = json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError):
        return None, error("The body is not valid JSON.", "body", 400)
    except RecursionError:  # nested deeper than the parser goes
        return None, error(f"The body nests deeper than {MAX_DEPTH} levels.", "body", 400)
    if too_deep(payload):
        return None, error(f"The body nests deeper than {MAX_DEPTH} levels.", "body", 400)
    if object_only and not isinstance(payload, dict):
        return None, error("The body must be a JSON object.", "body", 400)
    return payload, None


def described(text):
    """The API document with what this installation configures: its reason tags, its shifts,
    its replay window."""
    document = json.loads(text)
    rating = document["components"]["schemas"]["RatingIn"]["properties"]
    rating["tags"]["items"]["enum"] = list(current_app.extensions["canteen_reason_tags"])
    shifts = [w.name for w in current_app.extensions["canteen_clock"].shifts]
    document["components"]["schemas"]["StaffIn"]["properties"]["shift"]["enum"] = [*shifts, None]
    days = current_app.config["REPLAY_MAX_DAYS"]
    rating["voted_at"]["description"] = rating["voted_at"]["description"].replace(
        "CANTEEN_REPLAY_MAX_DAYS (7)", f"CANTEEN_REPLAY_MAX_DAYS ({days})")
    return json.dumps(document, ensure_ascii=False)
