"""The miners' kiosk: a touch screen at the canteen exit (two taps, no typing)."""
from flask import (Blueprint, current_app, redirect, render_template, request,
                   send_from_directory, url_for)

from .i18n import LANG_COOKIE, requested_language
from .vocabulary import FACES, REASONS

bp = Blueprint("kiosk", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
def index():
    """The kiosk is the front door."""
    return redirect(url_for("kiosk.screen"))


@bp.get("/kiosk")
def screen():
    """The full-screen voting page; ?lang= switches language and is remembered."""
    lang = request.args.get("lang")
    if lang is not None:
        args = {k: v for k, v in request.args.items() if k != "lang"}
        response = redirect(url_for("kiosk.screen", **args))
        if requested_language() == lang:
            response.set_cookie(LANG_COOKIE, lang, max_age=ONE_YEAR, samesite="Lax", httponly=True)
        return response
    config = current_app.config
    reasons = [(tag, REASONS.get(tag, tag.replace("_", " ")))
               for tag in current_app.extensions["canteen_reason_tags"]]
    return render_template(
        "kiosk/screen.html",
        faces=sorted(FACES.items()),
        reasons=reasons,
        kiosk_name=(request.args.get("kiosk") or config["KIOSK_NAME"])[:64],
        timings={
            "autosend": config["KIOSK_AUTOSEND_SECONDS"],
            "idle": config["KIOSK_IDLE_SECONDS"],
            "thanks": config["KIOSK_THANKS_SECONDS"],
        },
    )


@bp.get("/photos/<path:name>")
def photo(name):
    """Dish photos stored under instance/photos."""
    return send_from_directory(current_app.config["PHOTO_DIR"], name, max_age=ONE_YEAR)
