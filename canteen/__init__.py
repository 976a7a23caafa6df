"""canteen: kiosk-first staff-canteen feedback and food-safety tracker."""
import logging
import os
import re
import secrets
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import access, cli, clock, db, demo, i18n
from .config import DEFAULTS, ConfigError, coerce
from .office import auth

ROOT = Path(__file__).resolve().parent.parent
TAG = re.compile(r"^[a-z0-9_]{1,32}$")

# Our own pages need nothing from elsewhere (kiosks are offline) and no inline script.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")

log = logging.getLogger(__name__)


def create_app(test_config=None):
    """Application factory: defaults, then CANTEEN_* environment, then `test_config`."""
    # CANTEEN_INSTANCE_PATH moves the database, secret key and photos out of ./instance.
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("CANTEEN_INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.path.abspath(instance_path) if instance_path else None,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("CANTEEN")
    if test_config:
        app.config.from_mapping(test_config)
    coerce(app.config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.setdefault("PHOTO_DIR", str(Path(app.instance_path) / "photos"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path) / "secret_key")
    app.extensions["canteen_reason_tags"] = reason_tags(app.config["REASON_TAGS"])
    if app.config["ONE_VOTE_PER"] not in ("day", "meal"):
        raise ConfigError("CANTEEN_ONE_VOTE_PER must be day or meal")

    clock.init_app(app)
    app.extensions["canteen_checklist"] = load_checklist(app)
    i18n.init_app(app)
    db.init_app(app)
    cli.init_app(app)
    if app.config["DEMO"]:
        demo.ensure_demo(app)

    auth.init_app(app)
    app.before_request(access.enforce)  # after db's hook: it may look up a token

    from . import reports
    from .feedback import api, kiosk, rollups
    from .jobs import views as alerts
    from .office import admin
    from .office import catalog as kitchen
    from .office import home as office
    from .safety import standing
    from .safety import views as safety
    app.cli.add_command(rollups.rebuild_command)
    for module in (kiosk, api, auth, office, kitchen, admin, safety, standing, alerts, reports):
        app.register_blueprint(module.bp)
    # The JSON API takes no form posts: browsers cannot send application/json across sites
    # without a CORS preflight we never grant, so CSRF tokens would add nothing there.
    csrf = CSRFProtect(app)
    csrf.exempt(api.bp)
    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    app.register_error_handler(CSRFError, expired_form)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
    app.after_request(security_headers)
    app.jinja_env.globals["local"] = lambda utc: app.extensions["canteen_clock"].to_local(utc)
    from . import vocabulary
    app.jinja_env.globals.update(SEVERITY_NAMES=vocabulary.SEVERITY_NAMES, D_NAMES=vocabulary.D_NAMES,
                                 ACTION_STATUS=vocabulary.ACTION_STATUS, TRAINING_TOPICS=vocabulary.TRAINING_TOPICS,
                                 DISPOSITION_NAMES=vocabulary.DISPOSITION_NAMES, DECISION_NAMES=vocabulary.DECISION_NAMES,
                                 CHANGE_KIND_NAMES=vocabulary.CHANGE_KIND_NAMES, SHIFT_NAMES=vocabulary.SHIFT_NAMES,
                                 REASONS=vocabulary.REASONS, MEALS=vocabulary.MEALS)
    # scores always with two decimals on pages (4.20 beside 4.21, not 4.2); exports keep numbers
    app.jinja_env.filters["score"] = lambda v: "" if v is None else f"{v:.2f}"
    # "user:wang" in records → "wang" on pages
    app.jinja_env.filters["who"] = lambda actor: str(actor or "").split(":", 1)[-1]
    return app


def load_checklist(app):
    """The 4D checklist with the canteen's override file, if any (a bad file stops the start)."""
    from .checklists.engine import ChecklistError, load
    override = app.config["CHECKLIST_OVERRIDE"] or None
    if override is None and (Path(app.instance_path) / "checklist-override.toml").exists():
        override = str(Path(app.instance_path) / "checklist-override.toml")
    try:
        return load(override=override)
    except (ChecklistError, OSError, ValueError) as e:
        raise ConfigError(f"CANTEEN_CHECKLIST_OVERRIDE: {e}") from None


class DatabaseIdConverter(IntegerConverter):
    """<int:…> in URLs: at most a 32-bit id, so a huge number is a 404, not a database error."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def reason_tags(spec):
    tags = [t.strip() for t in spec.split(",") if t.strip()]
    bad = [t for t in tags if not TAG.match(t)]
    if bad:
        raise ConfigError(f"CANTEEN_REASON_TAGS: {bad[0]!r} is not a tag (a-z, 0-9, _)")
    return tuple(dict.fromkeys(tags))


def instance_secret(path):
    """A random key made once per installation and kept in instance/, never a constant."""
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def wants_json():
    return request.path.startswith("/api/")


def http_error(exc):
    if wants_json():
        return jsonify(error=exc.description, field="body" if exc.code == 413 else None), exc.code
    # the page explains the common codes in the reader's language; werkzeug's names are English
    return render_template("error.html", code=exc.code, name=None), exc.code


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
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
