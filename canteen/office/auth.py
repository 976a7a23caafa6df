"""Signing in and out, changing one's password, and the first-admin CLI.

Sessions are Flask's signed cookie: HttpOnly, SameSite=Lax, Secure when the request came
over HTTPS, and they lapse after CANTEEN_SESSION_IDLE_MINUTES without a request.
"""
import datetime as dt

import click
from flask import (
    Blueprint,
    current_app,
    flash,
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

from .. import audit
from ..access import allow, public
from ..models import database, utcnow
from .accounts import ROLES, ApiToken, LoginAttempt, User, validate_new_password
from .forms import LoginForm, PasswordForm

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "basic"

THROTTLE_WINDOW = dt.timedelta(minutes=15)


class SessionInterface(SecureCookieSessionInterface):
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
    return user


def throttled(username, address):
    """Minutes to wait, or 0: limits failures per account and per address."""
    since = utcnow() - THROTTLE_WINDOW
    config = current_app.config
    for column, value, limit in ((LoginAttempt.username, username, config["LOGIN_LIMIT_ACCOUNT"]),
                                 (LoginAttempt.address, address, config["LOGIN_LIMIT_ADDRESS"])):
        recent = (LoginAttempt.select(LoginAttempt.at)
                  .where((column == value) & (LoginAttempt.at > since))
                  .order_by(LoginAttempt.at.desc())
                  .limit(limit))
        times = [r.at for r in recent]
        if len(times) >= limit:
            wait = times[-1] + THROTTLE_WINDOW - utcnow()
            return max(1, int(wait.total_seconds() // 60) + 1)
    return 0


def safe_next(target):
    """Only local paths: a sign-in link must not bounce anyone to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("office.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign-in page for the manager, union representatives and the administrator."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        address = request.remote_addr or "?"
        wait = throttled(username, address)
        if wait:
            form.username.errors.append(
                _("Too many failed sign-ins. Try again in %(n)d minutes.", n=wait))
            status = 429
        else:
            user = User.by_username(username)
            if user is not None and user.active and user.check_password(form.password.data):
                session.permanent = True
                login_user(user)
                User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
                return redirect(safe_next(request.args.get("next")))
            LoginAttempt.create(username=username, address=address)
            form.password.errors.append(_("Wrong user name or password, or the account is disabled."))
            status = 401
    return render_template("office/auth/login.html", form=form), status


@bp.post("/logout")
@public
def logout():
    """Sign out (a POST with the CSRF token, so no link can sign anyone out)."""
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@allow(*ROLES)
def change_password():
    """Change my own password; other sessions of this account end."""
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("This is not your current password."))
        else:
            with database.atomic():
                current_user.set_password(form.new.data)
                current_user.save()
                audit.record(f"user:{current_user.username}", "user.password", "user", current_user.id)
            login_user(current_user._get_current_object())  # this session continues
            flash(_("Your password has been changed."))
            return redirect(url_for("office.home"))
    return render_template("office/auth/password.html", form=form)


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
    if not name or len(name) > 40:
        raise click.BadParameter("a user name has 1 to 40 characters", param_hint="NAME")
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
    with database.atomic():
        token, secret = ApiToken.issue(name.strip()[:64] or "token", role)
        audit.record("cli", "token.create", "api_token", token.id, name=token.name, role=role)
    click.echo(secret)


def init_app(app):
    app.session_interface = SessionInterface()
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    login_manager.init_app(app)
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_token_command)
