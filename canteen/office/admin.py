"""The administrator's pages: accounts and roles, kiosk devices, API tokens, the audit trail."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit
from ..access import actor, allow
from ..audit import AuditEntry
from ..models import AppSetting, database, utcnow
from ..vocabulary import ROLE_NAMES
from . import switch
from .accounts import ApiToken, Kiosk, User
from .catalog import phone_reach
from .forms import ConfirmForm, KioskForm, TokenForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@allow("admin")
def users():
    """Everyone who can sign in, with their roles."""
    return render_template("office/admin/users.html", users=User.select().order_by(User.username),
                           role_names=ROLE_NAMES, passwords_only=switch.passwords_only())


@bp.post("/settings/switch")
@allow("admin")
def switch_setting():
    """Require full passwords for the quick switch on shared tablets, or accept PINs again."""
    password_only = request.form.get("password_only") == "1"
    with database.atomic():
        AppSetting.write(switch.PASSWORD_ONLY, "1" if password_only else "0")
        audit.record(actor(), "settings.switch", "setting", None, password_only=password_only)
    flash(_("Switching person takes the full password now.") if password_only
          else _("Switching person accepts PINs now."))
    return redirect(url_for("admin.users"))


@bp.route("/users/new", methods=["GET", "POST"])
@allow("admin")
def new_user():
    """Create an account with a first password."""
    return user_form(User(active=True), created=True)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@allow("admin")
def edit_user(user_id):
    """Change roles, name, enable or disable, or reset the password."""
    user = User.get_or_none(User.id == user_id) or abort(404)
    return user_form(user, created=False)


def user_form(user, created):
    form = UserForm(obj=None if request.method == "POST" else user)
    if request.method == "GET" and not created:
        form.roles.data = sorted(user.role_set)
    if created:
        form.password.flags.required = True
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        clash = User.select().where(User.username == username)
        if not created:
            clash = clash.where(User.id != user.id)
        if created and not form.password.data:
            form.password.errors.append(_("A new account needs a password."))
        elif clash.exists():
            form.username.errors.append(_("This user name is taken."))
        elif not created and user.id == current_user.id and (
                "admin" not in form.roles.data or not form.active.data):
            form.roles.errors.append(_("You cannot remove your own administrator role or disable yourself."))
        else:
            before = None if created else {"roles": user.roles, "active": user.active}
            was_active = user.active
            user.username = username
            user.display_name = (form.display_name.data or "").strip() or username
            user.set_roles(form.roles.data)
            user.active = form.active.data
            if form.password.data:
                user.set_password(form.password.data)
            elif was_active and not user.active:
                user.session_version += 1  # a disabled account's sessions end now
            with database.atomic():
                user.save()
                audit.record(actor(), "user.create" if created else "user.update", "user", user.id,
                             username=username, before=before,
                             after={"roles": user.roles, "active": user.active},
                             password_reset=bool(form.password.data) and not created)
            flash(_("Saved the account %(name)s.", name=username))
            return redirect(url_for("admin.users"))
    status = 422 if request.method == "POST" else 200
    return render_template("office/admin/user_form.html", form=form, user=user, created=created), status


@bp.get("/kiosks")
@allow("admin")
def kiosks():
    """Registered kiosks, their pairing state and last contact."""
    return kiosks_page(form=KioskForm())


def kiosks_page(form, code=None, code_kiosk=None, **context):
    return render_template("office/admin/kiosks.html", kiosks=Kiosk.select().order_by(Kiosk.name),
                           form=form, confirm=ConfirmForm(), code=code, code_kiosk=code_kiosk,
                           **phone_reach(), **context)


@bp.post("/kiosks")
@allow("admin")
def new_kiosk():
    """Register a kiosk and show its one-time pairing code."""
    form = KioskForm()
    if form.validate_on_submit():
        name = form.name.data.strip()
        if Kiosk.select().where(Kiosk.name == name).exists():
            form.name.errors.append(_("A kiosk with this name exists."))
        else:
            with database.atomic():
                kiosk = Kiosk(name=name, location=(form.location.data or "").strip())
                code = kiosk.new_pairing_code()
                kiosk.save()
                audit.record(actor(), "kiosk.create", "kiosk", kiosk.id, name=name, location=kiosk.location)
            return show_code(kiosk, code)
    return kiosks_page(form=form), 422


def show_code(kiosk, code):
    return kiosks_page(form=KioskForm(formdata=None), code=code, code_kiosk=kiosk,
                       pair_url=url_for("kiosk.pair", code=code, _external=True))


@bp.post("/kiosks/<int:kiosk_id>/pairing")
@allow("admin")
def new_pairing(kiosk_id):
    """A new one-time pairing code (for a replaced screen or a revoked kiosk)."""
    kiosk = Kiosk.get_or_none(Kiosk.id == kiosk_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with database.atomic():
        code = kiosk.new_pairing_code()
        kiosk.save()
        audit.record(actor(), "kiosk.pairing", "kiosk", kiosk.id, name=kiosk.name)
    return show_code(kiosk, code)


@bp.post("/kiosks/<int:kiosk_id>/revoke")
@allow("admin")
def revoke_kiosk(kiosk_id):
    """Stop accepting votes from this kiosk's device credential."""
    kiosk = Kiosk.get_or_none(Kiosk.id == kiosk_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        with database.atomic():
            kiosk.revoked_at = utcnow()
            kiosk.device_hash = kiosk.pairing_hash = None
            kiosk.save()
            audit.record(actor(), "kiosk.revoke", "kiosk", kiosk.id, name=kiosk.name)
        flash(_("Kiosk %(name)s is revoked.", name=kiosk.name))
    return redirect(url_for("admin.kiosks"))


@bp.route("/tokens", methods=["GET", "POST"])
@allow("admin")
def tokens():
    """API tokens for machines (thermometers, scales); a new one is shown once."""
    form = TokenForm()
    secret = None
    status = 200
    if form.validate_on_submit():
        with database.atomic():
            token, secret = ApiToken.issue(form.name.data.strip(), form.role.data)
            audit.record(actor(), "token.create", "api_token", token.id, name=token.name, role=token.role)
        form = TokenForm(formdata=None)
    elif request.method == "POST":
        status = 422
    return render_template("office/admin/tokens.html", form=form, secret=secret, confirm=ConfirmForm(),
                           tokens=ApiToken.select().order_by(ApiToken.created_at.desc()),
                           role_names=ROLE_NAMES), status


@bp.post("/tokens/<int:token_id>/revoke")
@allow("admin")
def revoke_token(token_id):
    """Revoke a token: requests carrying it get 401 from now on."""
    token = ApiToken.get_or_none(ApiToken.id == token_id) or abort(404)
    if ConfirmForm().validate_on_submit() and token.revoked_at is None:
        with database.atomic():
            token.revoked_at = utcnow()
            token.save()
            audit.record(actor(), "token.revoke", "api_token", token.id, name=token.name)
        flash(_("Token %(name)s is revoked.", name=token.name))
    return redirect(url_for("admin.tokens"))


@bp.get("/audit")
@allow("admin")
def audit_log():
    """The audit trail, newest first, and whether its hash chain is intact."""
    entries = AuditEntry.select().order_by(AuditEntry.id.desc()).limit(500)
    return render_template("office/admin/audit.html", entries=entries, report=audit.verify(), describe=audit.describe)


@bp.post("/kiosks/<int:kiosk_id>/card-reader")
@allow("admin")
def toggle_card_reader(kiosk_id):
    """Say whether this kiosk has a USB staff-card reader (one vote per card per dish a day)."""
    kiosk = Kiosk.get_or_none(Kiosk.id == kiosk_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        with database.atomic():
            kiosk.card_reader = not kiosk.card_reader
            kiosk.save()
            audit.record(actor(), "kiosk.card_reader", "kiosk", kiosk.id, name=kiosk.name,
                         card_reader=kiosk.card_reader)
    return redirect(url_for("admin.kiosks"))
