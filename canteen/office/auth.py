"""Signing in and out, changing one's password, and the first-admin CLI.

Sessions are Flask's signed cookie (HttpOnly, SameSite=Lax, Secure when the request came over
HTTPS) holding the id of a server-side UserSession: signing out ends it for good, and it lapses
after CANTEEN_SESSION_IDLE_MINUTES without a request or CANTEEN_SESSION_MAX_HOURS after sign-in.
"""
import datetime as dt
import logging
import re
import secrets
from urllib.parse import urlsplit

import click
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.cli import with_appcontext
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..access import allow, public
from ..db import write_transaction
from ..models import database, utcnow
from .accounts import (
    ROLES,
    ApiToken,
    LoginAttempt,
    User,
    UserSession,
    validate_new_password,
)
from . import switch
from .forms import USERNAME_PATTERN, LoginForm, PasswordForm

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "basic"

THROTTLE_WINDOW = dt.timedelta(minutes=15)
SESSION_KEY = "sid"  # the server-side session's secret, inside the signed cookie


class SessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        # Kiosks and phones send no session cookie: skip building the signer for every vote.
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        # nothing to store or delete (every kiosk vote): only say that the answer varies by cookie
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)

    def get_cookie_secure(self, app):
        # Secure whenever the request came over HTTPS (directly or through ProxyFix).
        return app.config["SESSION_COOKIE_SECURE"] or request.is_secure


@login_manager.user_loader
def load_user(user_id):
    uid, _sep, version = user_id.partition(":")
    if not uid.isdigit() or not version.isdigit():
        return None
    user = User.get_or_none(User.id == int(uid))
    if user is None or user.session_version != int(version) or not user.active:
        return None
    config = current_app.config
    row = UserSession.live(session.get(SESSION_KEY), user.id,
                           idle=dt.timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
                           max_age=dt.timedelta(hours=config["SESSION_MAX_HOURS"]))
    if row is None:
        return None  # signed out, idle too long or too old: like no sign-in at all
    g.device_user = user
    # Someone switched in on this shared tablet acts (and is named) instead, for a while.
    return switch.acting_on(row) or user


# Checked against when the user name is unknown, so that refusing it takes as long as a wrong
# password for a real account (scrypt, like every stored hash).
UNKNOWN_USER_HASH = generate_password_hash(secrets.token_urlsafe(16))


def failure_counts(username, address):
    """Failures within the window: of this account from this address, and of this address."""
    since = utcnow() - THROTTLE_WINDOW
    recent = LoginAttempt.at > since
    pair = (LoginAttempt.select()
            .where(recent & (LoginAttempt.username == username) & (LoginAttempt.address == address))
            .count())
    everyone = LoginAttempt.select().where(recent & (LoginAttempt.address == address)).count()
    return pair, everyone


def attempt(username, address):
    """Claim one password check for `username` from `address`.

    Returns (attempt row, 0) when the check may go ahead, or (None, minutes to wait). The
    row is written before counting, so parallel guesses cannot all slip under the limit (at
    most LOGIN_LIMIT_ACCOUNT of them see a count within it). Limits are per account *and*
    address, and per address: an attacker's guesses from one address never lock the owner
    out at another. The caller deletes the row when the password was right."""
    config = current_app.config
    row = LoginAttempt.create(username=username, address=address)
    pair, everyone = failure_counts(username, address)
    if pair <= config["LOGIN_LIMIT_ACCOUNT"] and everyone <= config["LOGIN_LIMIT_ADDRESS"]:
        return row, 0
    row.delete_instance()  # a refused try checks nothing, so it does not count
    return None, int(THROTTLE_WINDOW.total_seconds() // 60)


def check_password(user, password):
    """The password check, equally slow whether or not the account exists."""
    if user is None:
        check_password_hash(UNKNOWN_USER_HASH, password)
        return False
    return user.active and user.check_password(password)


def record_sign_in(action, username, address, **detail):
    with write_transaction():
        audit.record(f"user:{username}", action, "user", None, address=address, **detail)


def safe_next(target):
    """Only a path on this site, judged as a browser would read it: no scheme, no host, no
    backslashes or control characters that browsers strip (`/\t/evil` is `//evil`)."""
    home = url_for("office.home")
    if not target or not isinstance(target, str) or len(target) > 2000:
        return home
    if any(ord(c) < 0x20 or c in "\\\x7f" for c in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return home
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign-in page for the manager, union representatives and the administrator."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        address = request.remote_addr or "?"
        claim, wait = attempt(username, address)
        if wait:
            form.username.errors.append(
                _("Too many failed sign-ins. Try again in %(n)d minutes.", n=wait))
            # logged, not audited: refusals cost nothing, so a flood of them writes nothing either
            log.warning("sign-in refused (throttled): %s from %s", username, address)
            status = 429
        else:
            user = User.by_username(username)
            if check_password(user, form.password.data):
                claim.delete_instance()
                session.clear()  # a fresh session: nothing from before signing in carries over
                session.permanent = True
                session[SESSION_KEY] = UserSession.start(user)
                login_user(user)
                User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
                record_sign_in("auth.sign_in", username, address)
                return redirect(safe_next(request.args.get("next")))
            record_sign_in("auth.failed", username, address)
            form.password.errors.append(_("Wrong user name or password, or the account is disabled."))
            status = 401
    return render_template("office/auth/login.html", form=form), status


@bp.post("/logout")
@public
def logout():
    """Sign out (a POST with the CSRF token, so no link can sign anyone out). The session
    ends on the server too: a copy of the old cookie no longer signs anyone in."""
    if current_user.is_authenticated:  # a switched-in person signs the whole device out
        extra = {"device_user": switch.device_user().username} if switch.switched() else {}
        record_sign_in("auth.sign_out", current_user.username, request.remote_addr or "?", **extra)
    UserSession.end(session.get(SESSION_KEY))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@allow(*ROLES)
def change_password():
    """Change my own password; other sessions of this account end. The current-password
    check is throttled like signing in."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or "?"
        claim, wait = attempt(current_user.username, address)
        if wait:
            form.current.errors.append(
                _("Too many failed sign-ins. Try again in %(n)d minutes.", n=wait))
            status = 429
        elif not current_user.check_password(form.current.data):
            record_sign_in("auth.failed", current_user.username, address, page="password")
            form.current.errors.append(_("This is not your current password."))
        else:
            claim.delete_instance()
            with database.atomic():
                current_user.set_password(form.new.data)
                current_user.save()
                UserSession.end_all(current_user.id, keep=session.get(SESSION_KEY))
                audit.record(f"user:{current_user.username}", "user.password", "user", current_user.id)
            if not switch.switched():  # the device's own sign-in continues; a switched-in
                login_user(current_user._get_current_object())  # person's switch ends
            flash(_("Your password has been changed."))
            return redirect(url_for("office.home"))
    return render_template("office/auth/password.html", form=form), status


@click.command("create-user")
@click.argument("name")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), required=True,
              help="Repeat for several roles.")
@click.option("--password", help="For scripts; without it you are asked (hidden, twice).")
@click.option("--display-name", default="")
@with_appcontext
def create_user_command(name, roles, password, display_name):
    """Create a user who signs in to the back office."""
    name = name.strip().lower()
    if not re.fullmatch(USERNAME_PATTERN, name):
        raise click.BadParameter("a user name has 1 to 40 letters, digits, dots, dashes or underscores",
                                 param_hint="NAME")
    if User.by_username(name):
        raise click.ClickException(f"There is already a user {name!r}.")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = validate_new_password(name, password)
    if problem:
        raise click.ClickException(problem)
    with database.atomic():
        user = User(username=name, display_name=display_name or name)
        user.set_roles(roles)
        user.set_password(password)
        user.save()
        audit.record("cli", "user.create", "user", user.id, username=name, roles=user.roles)
    click.echo(f"Created user {name} with role(s) {user.roles}.")


@click.command("create-token")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@with_appcontext
def create_token_command(name, role):
    """Create an API token for a machine; it is printed once."""
    name = name.strip()
    if not name or len(name) > 64 or not name.isprintable():  # the back office's form refuses them too
        raise click.BadParameter("a token's name has 1 to 64 printable characters.", param_hint="NAME")
    with database.atomic():
        token, secret = ApiToken.issue(name, role)
        audit.record("cli", "token.create", "api_token", token.id, name=token.name, role=role)
    click.echo(secret)


def init_app(app):
    app.session_interface = SessionInterface()
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    login_manager.init_app(app)
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_token_command)
