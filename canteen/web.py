"""How every response is made: error pages (HTML or JSON), security headers, ids in URLs,
and the template helpers every page uses."""
import logging

from flask import Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from peewee import InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter

from . import vocabulary
from .access import PUBLIC, access_of, demo_mode
from .models import database

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
    for failure in (OperationalError, InterfaceError, MaxConnectionsExceeded):
        app.register_error_handler(failure, database_unavailable)
    app.register_error_handler(Exception, unexpected_error)
    app.after_request(security_headers)
    app.jinja_env.globals["local"] = lambda utc: app.extensions["canteen_clock"].to_local(utc)
    app.jinja_env.globals["demo_mode"] = demo_mode
    app.jinja_env.globals.update(SEVERITY_NAMES=vocabulary.SEVERITY_NAMES, D_NAMES=vocabulary.D_NAMES,
                                 ACTION_STATUS=vocabulary.ACTION_STATUS, TRAINING_TOPICS=vocabulary.TRAINING_TOPICS,
                                 DISPOSITION_NAMES=vocabulary.DISPOSITION_NAMES, DECISION_NAMES=vocabulary.DECISION_NAMES,
                                 CHANGE_KIND_NAMES=vocabulary.CHANGE_KIND_NAMES, SHIFT_NAMES=vocabulary.SHIFT_NAMES,
                                 REASONS=vocabulary.REASONS, MEALS=vocabulary.MEALS,
                                 SUGGESTION_KINDS=vocabulary.SUGGESTION_KINDS,
                                 SUGGESTION_VENUES=vocabulary.SUGGESTION_VENUES,
                                 SUGGESTION_STATUS=vocabulary.SUGGESTION_STATUS,
                                 SUGGESTION_OUTCOMES=vocabulary.SUGGESTION_OUTCOMES,
                                 SUGGESTION_STEPS=vocabulary.SUGGESTION_STEPS)
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


# SQLite reports its own mistakes ("no such column") as OperationalError too: those stay 500s.
SQLITE_UNAVAILABLE = ("database or disk is full", "disk i/o error", "database is locked",
                      "unable to open database", "readonly database", "disk image is malformed")


def is_outage(exc):
    """Whether a database error means "not now" (a resource or the server) rather than a bug."""
    if not isinstance(exc, OperationalError):
        return True  # InterfaceError (connection gone), MaxConnectionsExceeded (pool busy)
    chain = []
    while exc is not None and len(chain) < 10:  # a failed COMMIT shows as the ROLLBACK after it
        chain.append(exc)
        exc = exc.__context__
    if not any(type(e).__module__.startswith("sqlite3") for e in chain):
        return True  # psycopg2's OperationalError: the connection, the server, a cancelled query
    return any(text in str(e).lower() for e in chain for text in SQLITE_UNAVAILABLE)


def database_unavailable(exc):
    """The database cannot take the request now (disk full, I/O error, PostgreSQL down or
    restarting, every pooled connection busy): a 503 with Retry-After, never a 500 or a hang.
    Nothing was stored (the transaction rolled back), so the client may send it again: kiosks
    keep the vote in their outbox and retry, and the client_id makes the retry count once."""
    if not is_outage(exc):
        return unexpected_error(exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.path, str(exc).strip()[:200])
    try:
        database.manual_close()  # a broken connection never goes back to the pool
    except Exception:  # already gone with the server
        log.debug("closing the failed connection", exc_info=True)
    headers = {"Retry-After": str(current_app.config["RETRY_AFTER_SECONDS"])}
    if wants_json():
        return jsonify(error="The database is unavailable (full disk or outage); nothing was stored. "
                             "Send it again in a few seconds.", field=None), 503, headers
    try:
        return render_template("error.html", code=503, name=None), 503, headers
    except Exception:  # the page itself needs the database (the signed-in user, …)
        return Response(_("Something went wrong on our side. Please try again."), 503, headers,
                        mimetype="text/plain")


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
