"""Who may use which route. Every view declares it; a view that does not is admin-only.

    @public              miners, kiosks, phones: no sign-in
    @allow("manager")    signed-in users (or API tokens) holding one of these roles

Checked once, before every request, from the view's declaration: a new route is closed
until someone opens it on purpose, and tests/test_access.py walks the URL map to prove it.
"""
from flask import current_app, g, jsonify, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .models import AppSetting, utcnow
from .office.accounts import ApiToken, Kiosk

PUBLIC = "public"
DEFAULT = frozenset({"admin"})
DEVICE_COOKIE = "canteen_kiosk"
PHONE_COOKIE = "canteen_phone"  # a random id per phone: one vote per phone per dish per day


def public(view):
    view.access = PUBLIC
    return view


def allow(*roles):
    def mark(view):
        view.access = frozenset(roles)
        return view
    return mark


def access_of(endpoint):
    if endpoint == "static":
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access", DEFAULT)


def bearer_token():
    """The token of an "Authorization: Bearer …" header; "" when the header names none."""
    header = request.headers.get("Authorization", "").strip()
    scheme, _sep, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else None


def current_roles():
    """The roles of whoever is asking: a signed-in user, or a valid API token."""
    token = getattr(g, "api_token", None)
    if token is not None:
        return frozenset({token.role})
    if current_user.is_authenticated:
        return current_user.role_set
    return frozenset()


def actor():
    """How the audit trail names whoever is asking."""
    token = getattr(g, "api_token", None)
    if token is not None:
        return f"token:{token.name}"
    if current_user.is_authenticated:
        return f"user:{current_user.username}"
    return "anonymous"


def current_kiosk():
    """The paired kiosk device this request comes from, if any (None when revoked)."""
    if "kiosk_device" not in g:
        kiosk = Kiosk.by_credential(request.cookies.get(DEVICE_COOKIE))
        if kiosk is not None and (kiosk.last_seen_at is None
                                  or (utcnow() - kiosk.last_seen_at).total_seconds() > 60):
            # last contact, written at most once a minute so votes do not pay for it
            Kiosk.update(last_seen_at=utcnow()).where(Kiosk.id == kiosk.id).execute()
        g.kiosk_device = kiosk
    return g.kiosk_device


def denied(status, message):
    """`message` is lazy: the API says it in English whatever the request's language (jsonapi.py)."""
    if request.path.startswith("/api/"):
        with force_locale("en"):
            return jsonify(error=str(message), field=None), status
    if status == 401:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    from flask import render_template
    return render_template("error.html", code=403, name=message), 403


def enforce():
    """before_request: apply the view's declaration."""
    if request.endpoint is None:
        return None  # 404 / 405 are answered by the error handlers
    # Tokens are for machines on the API; pages ignore the header.
    secret = bearer_token() if request.path.startswith("/api/") else None
    if secret is not None:
        token = ApiToken.lookup(secret) if secret else None
        if token is None or token.revoked_at is not None:
            return denied(401, _l("The API token is invalid or has been revoked."))
        g.api_token = token
        if token.last_used_at is None or (utcnow() - token.last_used_at).total_seconds() > 60:
            ApiToken.update(last_used_at=utcnow()).where(ApiToken.id == token.id).execute()
    access = access_of(request.endpoint)
    if access == PUBLIC:
        return None
    roles = current_roles()
    if not roles and not current_user.is_authenticated:
        return denied(401, _l("Please sign in."))
    if not roles & access:
        return denied(403, _l("Your account may not use this page."))
    return None


def demo_mode():
    """Whether this installation is a demo (unpaired screens may vote, ?kiosk= names them):
    CANTEEN_DEMO on and a database not marked as a real installation. Read once per process."""
    from flask import current_app

    if "canteen_demo_mode" not in current_app.extensions:
        current_app.extensions["canteen_demo_mode"] = (bool(current_app.config["DEMO"])
                                                        and AppSetting.read("demo") != "0")
    return current_app.extensions["canteen_demo_mode"]
