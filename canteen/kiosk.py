"""The miners' kiosk: a touch screen at the canteen exit (two taps, no typing)."""
from flask import (Blueprint, current_app, redirect, render_template, request,
                   send_from_directory, url_for)
from flask_babel import gettext as _

from . import audit
from .access import DEVICE_COOKIE, current_kiosk, public
from .accounts import Kiosk
from .forms import PairForm
from .models import database
from .vocabulary import FACES, REASONS

bp = Blueprint("kiosk", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
@public
def index():
    """The kiosk is the front door."""
    return redirect(url_for("kiosk.screen"))


@bp.get("/kiosk")
@public
def screen():
    """The full-screen voting page (?kiosk=NAME names an unpaired screen)."""
    config = current_app.config
    reasons = [(tag, REASONS.get(tag, tag.replace("_", " ")))
               for tag in current_app.extensions["canteen_reason_tags"]]
    return render_template(
        "kiosk/screen.html",
        faces=sorted(FACES.items()),
        reasons=reasons,
        kiosk_name=kiosk_label(),
        timings={
            "autosend": config["KIOSK_AUTOSEND_SECONDS"],
            "idle": config["KIOSK_IDLE_SECONDS"],
            "thanks": config["KIOSK_THANKS_SECONDS"],
        },
    )


def kiosk_label():
    """A paired kiosk's registered name, else ?kiosk=, else the configured default."""
    paired = current_kiosk()
    if paired is not None:
        return paired.name
    return (request.args.get("kiosk") or current_app.config["KIOSK_NAME"])[:64]


@bp.route("/kiosk/pair", methods=["GET", "POST"], defaults={"code": None})
@bp.route("/kiosk/pair/<code>", methods=["GET", "POST"])
@public
def pair(code):
    """Open once on a new kiosk with its one-time code; the screen then holds a credential."""
    form = PairForm(code=code)
    status = 200
    if form.validate_on_submit():
        with database.atomic():
            kiosk, credential = Kiosk.redeem(form.code.data)
            if kiosk is not None:
                audit.record(f"kiosk:{kiosk.name}", "kiosk.paired", "kiosk", kiosk.id,
                             address=request.remote_addr)
        if kiosk is not None:
            response = redirect(url_for("kiosk.screen"))
            response.set_cookie(DEVICE_COOKIE, credential, max_age=10 * ONE_YEAR, httponly=True,
                                samesite="Lax", secure=request.is_secure)
            return response
        form.code.errors.append(_("This code is wrong, used or expired. Ask the administrator for a new one."))
        status = 422
    return render_template("kiosk/pair.html", form=form), status


@bp.get("/photos/<path:name>")
@public
def photo(name):
    """Dish photos stored under instance/photos."""
    return send_from_directory(current_app.config["PHOTO_DIR"], name, max_age=ONE_YEAR)
