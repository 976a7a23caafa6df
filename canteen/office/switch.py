"""The quick switch on a shared tablet: the next person signs in with name + PIN for a while,
within the device's own sign-in, and everything they do is theirs.

The device's session (a full-password sign-in, office/auth.py) keeps who signed it in; the
switched-in person is kept beside it on the same server-side UserSession row and becomes
`current_user` until they switch back, another person switches in, or SWITCH_IDLE_MINUTES
pass without a request. A PIN therefore never signs anyone in on a device where nobody signed
in with a password. PIN checks are throttled with the same counters as passwords; an admin may
require full passwords instead, and an account holding the admin role always needs its password.
"""
import datetime as dt

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit
from ..access import allow
from ..db import write_transaction
from ..models import AppSetting, database, utcnow
from .accounts import ROLES, User, UserSession, digest, validate_new_pin
from .forms import PinForm, SwitchForm

bp = Blueprint("switch", __name__)

PASSWORD_ONLY = "switch_password_only"  # AppSetting: "1" when PINs are not accepted


def passwords_only():
    return AppSetting.read(PASSWORD_ONLY) == "1"


def pin_accepted(user):
    """Whether `user` may switch in with a PIN (else their full password is asked)."""
    return bool(user.pin_hash) and not passwords_only() and "admin" not in user.role_set


SEEN_KEY = "switch_seen"  # in the signed session cookie: the time of the switched-in person's last request


def acting_user(row, now=None, seen=None):
    """The person switched in on this session row, or None (none, lapsed, or their password
    changed or account disabled since). A lapsed switch is cleared so the device's owner is back.

    Idle is measured from their last request: `seen` (the session cookie's time, set on each
    of their requests at no database cost) or the row's last_seen_at, whichever is later — the
    row alone is written at most once a minute, so it would lapse up to a minute early."""
    if row is None or row.acting_user_id is None:
        return None
    now = now or utcnow()
    idle = dt.timedelta(minutes=current_app.config["SWITCH_IDLE_MINUTES"])
    last = max(row.last_seen_at, seen) if seen is not None and seen <= now else row.last_seen_at
    user = User.get_or_none(User.id == row.acting_user_id)
    if (now - last > idle or user is None or not user.active
            or user.session_version != row.acting_version):
        end_acting(row.id)
        return None
    return user


def acting_on(row):
    """acting_user() for this request's session, noting the request as the switched-in
    person's latest in the signed session cookie."""
    now = utcnow()
    was_acting = row is not None and row.acting_user_id is not None
    user = acting_user(row, now, seen_in_session())
    if user is None and was_acting:  # lapsed just now (access.enforce asks before the CSRF check)
        new_form_tokens()
    if user is not None:
        session[SEEN_KEY] = round(now.replace(tzinfo=dt.timezone.utc).timestamp(), 3)
    elif SEEN_KEY in session:  # popping an absent key would rewrite the cookie on every answer
        session.pop(SEEN_KEY)
    return user


def new_form_tokens():
    """Whoever acts on this device changed: pages opened before carry the old CSRF token and
    are refused when sent (400, "reload the page"), so a form filled in by one person is never
    saved in another's name (a switch lapsed, "Back to …" pressed in another tab, or another
    person switched in meanwhile)."""
    name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(name, None)
    g.pop(name, None)  # the token this request may have made already


def seen_in_session():
    value = session.get(SEEN_KEY)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return dt.datetime.fromtimestamp(value, dt.timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def end_acting(row_id):
    UserSession.update(acting_user_id=None, acting_version=None, acting_since=None).where(
        UserSession.id == row_id).execute()


def session_row(secret):
    if not secret or not isinstance(secret, str):
        return None
    return UserSession.get_or_none((UserSession.token_hash == digest(secret)) & UserSession.ended_at.is_null())


def device_user():
    """Who signed this device in with a full password (the owner of the session)."""
    return g.get("device_user") or (current_user if current_user.is_authenticated else None)


def switched():
    """Whether the current user was switched in (is not the device's own sign-in)."""
    owner = g.get("device_user")
    return owner is not None and current_user.is_authenticated and owner.id != current_user.id


def check_secret(user, secret):
    """A PIN where the user may use one, else the password."""
    if pin_accepted(user) and secret.isdigit() and len(secret) <= 6:
        return user.check_pin(secret)
    return user.check_password(secret)


def switch_in(secret, owner, person):
    """Make `person` act on the session `secret` (signed in by `owner`); switching to the owner
    ends the switch."""
    row = session_row(secret)
    now = utcnow()
    new_form_tokens()
    if person.id == owner.id:
        end_acting(row.id)
    else:
        UserSession.update(acting_user_id=person.id, acting_version=person.session_version,
                           acting_since=now, last_seen_at=now).where(UserSession.id == row.id).execute()


def people():
    """Who may be switched in: active accounts, by name."""
    return list(User.select().where(User.active).order_by(User.display_name, User.username))


@bp.route("/account/switch", methods=["GET", "POST"])
@allow(*ROLES)
def switch():
    """Switch person on a shared tablet: name + PIN (or password), without signing the device out."""
    from .auth import SESSION_KEY, attempt, record_sign_in, safe_next

    form = SwitchForm()
    everyone = people()
    form.username.choices = [(u.username, u.display_name or u.username) for u in everyone]
    status = 200
    if form.validate_on_submit():
        username = form.username.data
        address = request.remote_addr or "?"
        claim, wait = attempt(username, address)
        person = User.by_username(username)
        if wait:
            form.secret.errors.append(_("Too many failed sign-ins. Try again in %(n)d minutes.", n=wait))
            status = 429
        elif person is None or not person.active or not check_secret(person, form.secret.data):
            record_sign_in("auth.failed", username, address, page="switch")
            form.secret.errors.append(_("Wrong PIN or password."))
            status = 401
        else:
            claim.delete_instance()
            owner = device_user()
            with write_transaction():
                switch_in(session.get(SESSION_KEY), owner, person)
                audit.record(f"user:{person.username}", "auth.switch", "user", person.id, address=address,
                             device_user=owner.username, by_pin=pin_accepted(person)
                             and form.secret.data.isdigit())
            flash(_("%(name)s is signed in on this device now.", name=person.display_name or person.username))
            return redirect(safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 422
    return render_template("office/auth/switch.html", form=form, owner=device_user(),
                           pins={u.username for u in everyone if pin_accepted(u)},
                           passwords_only=passwords_only()), status


@bp.post("/account/switch/back")
@allow(*ROLES)
def switch_back():
    """Hand the device back to whoever signed it in (CSRFProtect checks the token)."""
    from .auth import SESSION_KEY

    row = session_row(session.get(SESSION_KEY))
    if switched() and row is not None:
        new_form_tokens()
        with write_transaction():
            end_acting(row.id)
            audit.record(f"user:{current_user.username}", "auth.switch_back", "user", current_user.id,
                         device_user=device_user().username)
        flash(_("%(name)s is signed in on this device again.",
                name=device_user().display_name or device_user().username))
    return redirect(url_for("office.home"))


@bp.route("/account/pin", methods=["GET", "POST"])
@allow(*ROLES)
def set_pin():
    """Set, change or remove my PIN for the quick switch (my current password is asked)."""
    from .auth import attempt, record_sign_in

    form = PinForm()
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or "?"
        pin = (form.pin.data or "").strip()
        problem = validate_new_pin(pin) if pin else None
        claim, wait = attempt(current_user.username, address) if not problem else (None, 0)
        if problem:
            form.pin.errors.append(problem)
            status = 422
        elif wait:
            form.current.errors.append(_("Too many failed sign-ins. Try again in %(n)d minutes.", n=wait))
            status = 429
        elif not current_user.check_password(form.current.data):
            record_sign_in("auth.failed", current_user.username, address, page="pin")
            form.current.errors.append(_("This is not your current password."))
            status = 422
        else:
            claim.delete_instance()
            with database.atomic():
                user = current_user._get_current_object()
                user.set_pin(pin or None)
                user.save(only=[User.pin_hash])
                audit.record(f"user:{current_user.username}", "user.pin", "user", current_user.id,
                             pin="set" if pin else "removed")
            flash(_("Your PIN has been set.") if pin else _("Your PIN has been removed."))
            return redirect(url_for("office.home"))
    elif request.method == "POST":
        status = 422
    return render_template("office/auth/pin.html", form=form, has_pin=bool(current_user.pin_hash),
                           passwords_only=passwords_only()), status



@bp.app_context_processor
def _switch_state():
    return {"switched": switched, "device_user": device_user}
