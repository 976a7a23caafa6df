"""How every response is made: error pages (HTML or JSON), security headers, ids in URLs,
and the template helpers every page uses."""
import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter

from . import vocabulary
from .access import PUBLIC, access_of, demo_mode

# Our own pages need nothing from elsewhere (kiosks are offline) and no inline script.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")

log = logging.getLogger(__name__)


MAX_ID = 2**31 - 1


def form_id(name):
    """A database id sent in a form field; None when missing, not a number or out of range
    (a huge number would overflow the database's integer, not just find nothing)."""
    value = request.form.get(name, type=int)
    return value if value is not None and 1 <= value <= MAX_ID else None


class DatabaseIdConverter(IntegerConverter):
    """<int:…> in URLs: at most a 32-bit id, so a huge number is a 404, not a database error."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app):
    from flask_wtf.csrf import CSRFError

    app.url_map.converters["int"] = DatabaseIdConverter
    app.register_error_handler(CSRFError, expired_form)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
    app.after_request(security_headers)
    app.jinja_env.globals["local"] = lambda utc: app.extensions["canteen_clock"].to_local(utc)
    app.jinja_env.globals["demo_mode"] = demo_mode
    app.jinja_env.globals.update(SEVERITY_NAMES=vocabulary.SEVERITY_NAMES, D_NAMES=vocabulary.D_NAMES,
                                 ACTION_STATUS=vocabulary.ACTION_STATUS, TRAINING_TOPICS=vocabulary.TRAINING_TOPICS,
                                 DISPOSITION_NAMES=vocabulary.DISPOSITION_NAMES, DECISION_NAMES=vocabulary.DECISION_NAMES,
                                 CHANGE_KIND_NAMES=vocabulary.CHANGE_KIND_NAMES, SHIFT_NAMES=vocabulary.SHIFT_NAMES,
                                 REASONS=vocabulary.REASONS, MEALS=vocabulary.MEALS)
    # scores always with two decimals on pages (4.20 beside 4.21, not 4.2); exports keep numbers
    app.jinja_env.filters["score"] = lambda v: "" if v is None else f"{v:.2f}"
    # "user:wang" in records → "wang" on pages
    app.jinja_env.filters["who"] = lambda actor: str(actor or "").split(":", 1)[-1]


def wants_json():
    return request.path.startswith("/api/")


def http_error(exc):
    # werkzeug's own headers: Allow on a 405 (which methods would do), Retry-After, …
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if wants_json():
        return jsonify(error=exc.description, field="body" if exc.code == 413 else None), exc.code, headers
    # the page explains the common codes in the reader's language; werkzeug's names are English
    return render_template("error.html", code=exc.code, name=None), exc.code, headers


def expired_form(exc):
    """A form without a valid CSRF token: stale page, lapsed session, or another site."""
    if wants_json():
        return http_error(exc)
    return render_template("error.html", code=400,
                           name=_("This form has expired or did not come from this site. "
                                  "Go back, reload the page and send it again.")), 400


def unexpected_error(exc):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return http_error(InternalServerError())


def security_headers(response):
    if request.is_secure:  # browsers then refuse plain HTTP to this host for a year
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "static" and access_of(request.endpoint) != PUBLIC or request.path == "/login":
        # signed-in pages, exports and the API's answers to tokens: never kept by any cache
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
