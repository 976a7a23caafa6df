"""canteen: kiosk-first staff-canteen feedback and food-safety tracker."""
import contextlib
import os
from pathlib import Path

import click
from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from . import access, audit, checklists, cli, clock, db, demo, i18n, ratelimits, web
from .config import (
    DEFAULTS,
    ConfigError,
    check_secret,
    coerce,
    instance_secret,
    reason_tags,
)
from .feedback import api as feedback_api
from .feedback import kiosk, rollups
from .jobs import views as jobs
from .office import admin, auth, catalog, home, switch
from .reports.routes import bp as reports
from .safety import api as safety_api
from .safety import standing
from .safety import views as safety

HERE = Path(__file__).resolve().parent


def asset_folder(name):
    """templates/ and static/: inside the package when installed from a wheel, else beside it
    at the top of the source tree (the design card's layout)."""
    installed = HERE / name
    return str(installed if installed.is_dir() else HERE.parent / name)


def serving():
    """True unless a `flask …` command other than `flask run` is loading the app."""
    ctx = click.get_current_context(silent=True)
    return ctx is None or ctx.info_name == "run"


@contextlib.contextmanager
def stops_when_full(app):
    """Migrating or seeding at start-up on a full disk (or past CANTEEN_SQLITE_MAX_PAGE_COUNT)
    stops with one clear line, not a traceback: the operator has something to free or raise."""
    from peewee import OperationalError
    try:
        yield
    except OperationalError as e:
        if "database or disk is full" not in str(e).lower():
            raise
        cap = app.config["SQLITE_MAX_PAGE_COUNT"]
        raise ConfigError("the database is full and cannot be prepared: "
                          + (f"CANTEEN_SQLITE_MAX_PAGE_COUNT={cap} pages is too few, raise it"
                             if cap else "free space on its disk") + f" ({app.config['DATABASE_URL']})") from e


def create_app(test_config=None):
    """Application factory: defaults, then CANTEEN_* environment, then `test_config`."""
    # CANTEEN_INSTANCE_PATH moves the database, secret key and photos out of ./instance.
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("CANTEEN_INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.path.abspath(instance_path) if instance_path else None,
                template_folder=asset_folder("templates"), static_folder=asset_folder("static"))
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("CANTEEN")
    if test_config:
        app.config.from_mapping(test_config)
    coerce(app.config)
    # Everything canteen writes (database, backups, photos, keys) is for its own user only.
    os.umask(0o077)
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    Path(app.instance_path).chmod(0o700)
    app.config.setdefault("PHOTO_DIR", str(Path(app.instance_path) / "photos"))
    if app.config.get("SECRET_KEY") is None:
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path) / "secret_key")
    check_secret(app.config["SECRET_KEY"])
    app.extensions["canteen_reason_tags"] = reason_tags(app.config["REASON_TAGS"])
    if app.config["ONE_VOTE_PER"] not in ("day", "meal"):
        raise ConfigError("CANTEEN_ONE_VOTE_PER must be day or meal")

    clock.init_app(app)
    app.extensions["canteen_checklist"] = checklists.load_for(app)
    i18n.init_app(app)
    with stops_when_full(app):
        db.init_app(app)
    audit.init_app(app)
    cli.init_app(app)
    app.cli.add_command(demo.remove_demo_command)
    if serving():  # CLI commands (create-user, remove-demo, …) never seed nor refuse
        with stops_when_full(app):
            demo.ensure_demo(app) if app.config["DEMO"] else demo.ensure_real(app)
    auth.init_app(app)
    ratelimits.init_app(app)
    web.init_app(app)  # before the blueprints: their <int:…> rules take its id converter
    app.before_request(access.enforce)  # after db's hook: it may look up a token
    app.cli.add_command(rollups.rebuild_command)
    for blueprint in (kiosk.bp, feedback_api.bp, safety_api.bp, auth.bp, switch.bp, home.bp, catalog.bp,
                      admin.bp, safety.bp, standing.bp, jobs.bp, reports):
        app.register_blueprint(blueprint)
    # The JSON API takes no form posts: browsers cannot send application/json across sites
    # without a CORS preflight we never grant, so CSRF tokens would add nothing there.
    # A form's token lives as long as the sign-in it belongs to (idle and maximum lifetimes in
    # auth.py), not Flask-WTF's one hour: a delivery form opened before the lorry came is
    # still good when it has been unloaded.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf = CSRFProtect(app)
    csrf.exempt(feedback_api.bp)
    csrf.exempt(safety_api.bp)
    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    return app
