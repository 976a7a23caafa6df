"""The miners' kiosk: a touch screen at the canteen exit (two taps, no typing)."""
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit
from ..access import DEVICE_COOKIE, PHONE_COOKIE, current_kiosk, demo_mode, public
from ..clock import clock
from ..i18n import current_language
from ..models import Dish, database
from ..office.accounts import Kiosk
from ..office.forms import PairForm
from ..vocabulary import FACES, MEALS, REASONS
from . import follow_up, limits, qr, votes
from .api import dish_json
from .models import QrCard

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
    paired = current_kiosk()
    if paired is None and not demo_mode():
        # outside demo mode only a paired screen may take votes: say so and offer the pairing
        return render_template("feedback/pair.html", form=PairForm(), unpaired=True), 403
    praise = set(config["PRAISE_TAGS"].split(","))
    return render_template(
        "feedback/screen.html",
        faces=sorted(FACES.items()),
        reasons=[(tag, label, "praise" if tag in praise else "complaint") for tag, label in reason_choices()],
        kiosk_name=kiosk_label(),
        default_language=config["DEFAULT_LOCALE"],
        card_reader=paired.card_reader if paired else config["KIOSK_CARD_READER"],
        qr_seconds=config["QR_ROTATE_SECONDS"],
        timings={
            "idle": config["KIOSK_IDLE_SECONDS"],
            "thanks": config["KIOSK_THANKS_SECONDS"],
            "reasons": config["KIOSK_REASONS_SECONDS"],
            "ghost": config["KIOSK_GHOST_TAP_MS"],
            "change": config["VOTE_CHANGE_SECONDS"],
        },
    )


def reason_choices():
    return [(tag, REASONS.get(tag, tag.replace("_", " ")))
            for tag in current_app.extensions["canteen_reason_tags"]]


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
    return render_template("feedback/pair.html", form=form), status


@bp.get("/photos/<path:name>")
@public
def photo(name):
    """Dish photos stored under instance/photos (other photos there are the back office's)."""
    if not Dish.select().where(Dish.photo == name).exists():
        abort(404)
    return send_from_directory(current_app.config["PHOTO_DIR"], name, max_age=ONE_YEAR)


def public_base():
    """Where phones reach this server: CANTEEN_PUBLIC_URL, else the address in use."""
    return (current_app.config["PUBLIC_URL"] or request.host_url).rstrip("/")


def phone_url(token):
    return public_base() + url_for("kiosk.phone", token=token)


@bp.get("/kiosk/qr.svg")
@public
def live_qr():
    """The kiosk's rotating QR for phones: a fresh token on every request, for paired kiosks
    only (in demo mode for any screen)."""
    if current_kiosk() is None and not demo_mode():
        return current_app.response_class(status=403)
    token = qr.kiosk_token(kiosk_label())
    response = current_app.response_class(qr.svg(phone_url(token)), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    return response


TOKEN_PAGES = {
    "forged": (404, _l("This QR code is not one of ours. Scan the code on the kiosk or on the table card.")),
    "expired": (410, _l("This QR code has expired. Scan the code on the kiosk screen again: it changes every few minutes.")),
    "revoked": (410, _l("This card is no longer in use. Ask the canteen staff for a new one.")),
}


@bp.get("/p/<token>")
@public
def phone(token):
    """The phone page a QR code leads to: today's dishes, faces, reasons, a short comment."""
    try:
        source = qr.read_token(token)
    except qr.TokenError as e:
        status, message = TOKEN_PAGES[e.reason]
        return render_template("feedback/phone_invalid.html", message=message), status
    wait = limits.over_limit(f"card:{source.card_id}" if source.kind == "card" else f"kiosk:{source.kiosk}")
    if wait:
        return limits.too_many(wait, as_json=False)
    now_slot = clock().slot()
    meals = []
    lang = current_language()
    shown = set()  # a dish served at both meals appears once, under the later meal
    for slot in (now_slot, clock().previous_slot(now_slot)):
        dishes = [dish_json(d, slot.day, lang) for d in Dish.served_on(slot.day, slot.meal)
                  if d.id not in shown]
        shown.update(d["id"] for d in dishes)
        if dishes:
            meals.append({"meal": str(MEALS[slot.meal]), "day": slot.day, "dishes": dishes})
    place = open_dish = None
    if source.kind == "card":
        card = QrCard.get_by_id(source.card_id)
        place = " · ".join(filter(None, (card.label, card.location)))
        open_dish = card.dish_id  # a card made for one dish opens straight at it
    phone = votes.phone_id(request.cookies.get(PHONE_COOKIE))
    new_cookie = None
    if phone is None:  # a new phone (or a cookie we did not issue): a signed id, so many per address
        wait = limits.hit(("phone-id", request.remote_addr), current_app.config["PHONE_COOKIES_PER_MINUTE"])
        if wait:
            return limits.too_many(wait, as_json=False)
        new_cookie = votes.issue_phone_cookie()
    replies = follow_up.replies_for(votes.phone_key(phone))
    response = current_app.make_response(render_template(
        "feedback/phone.html", meals=meals, token=token, place=place, open_dish=open_dish,
        faces=sorted(FACES.items()), reasons=reason_choices(), replies=replies, lang=lang))
    if new_cookie:
        response.set_cookie(PHONE_COOKIE, new_cookie, max_age=ONE_YEAR, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/kiosk-sw.js")
@public
def service_worker():
    """The kiosk's service worker, served from the root so that it may cover /kiosk."""
    response = send_from_directory(current_app.static_folder, "kiosk-sw.js", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response
