"""The kitchen manager's pages: the dish catalog and the week's menus."""
import datetime as dt

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, fn

from .. import audit
from ..access import actor, allow, current_roles
from ..clock import clock
from ..feedback import qr
from ..feedback.kiosk import phone_url, public_base
from ..feedback.models import DishChange, QrCard
from ..i18n import current_language
from ..models import Dish, MenuItem, database, utcnow
from ..photos import PhotoError, save_photo
from ..vocabulary import CATEGORIES, MEALS
from .forms import CardForm, ConfirmForm, DishForm, MenuForm

bp = Blueprint("kitchen", __name__, url_prefix="/kitchen")

PHOTO_ERRORS = {
    "too_large": _l("The photo is larger than 5 MB."),
    "not_image": _l("This file is not a JPEG, PNG, WebP or GIF picture."),
    "empty": _l("The file is empty."),
    "too_many_pixels": _l("The picture has more than 40 million pixels; send a smaller one."),
}


def yuan_to_fen(value):
    return int(value * 100)


def name_taken(form, dish=None):
    """Errors beside the name fields when another dish already uses the name."""
    taken = False
    for field, column in ((form.name_zh, Dish.name_zh), (form.name_en, Dish.name_en)):
        query = Dish.select().where(fn.LOWER(column) == field.data.strip().lower())
        if dish is not None:
            query = query.where(Dish.id != dish.id)
        if query.exists():
            field.errors.append(_("Another dish already has this name."))
            taken = True
    return taken


def store_photo(form):
    upload = form.photo.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    try:
        return save_photo(upload.read(), current_app.config["PHOTO_DIR"],
                          current_app.config["PHOTO_MAX_BYTES"])
    except PhotoError as e:
        form.photo.errors.append(str(PHOTO_ERRORS[str(e)]))
        return False


def fill_dish(dish, form, photo):
    dish.name_zh = form.name_zh.data.strip()
    dish.name_en = form.name_en.data.strip()
    dish.price_fen = yuan_to_fen(form.price.data)
    dish.category = form.category.data
    dish.trial_start = form.trial_start.data
    dish.trial_end = form.trial_end.data
    if photo:
        dish.photo = photo


def dish_summary(dish):
    return {"name_zh": dish.name_zh, "name_en": dish.name_en, "price_fen": dish.price_fen,
            "category": dish.category, "photo": dish.photo, "active": dish.active,
            "trial_start": dish.trial_start, "trial_end": dish.trial_end}


@bp.get("/dishes")
@allow("manager")
def dishes():
    """The dish catalog, live dishes first."""
    rows = Dish.select().order_by(Dish.active.desc(), Dish.category, Dish.name_zh)
    return render_template("office/catalog/dishes.html", dishes=rows, categories=CATEGORIES,
                           today=clock().today(), confirm=ConfirmForm())


@bp.route("/dishes/new", methods=["GET", "POST"])
@allow("manager")
def new_dish():
    """Add a dish, optionally with a photo and a trial period."""
    return edit_dish_form(Dish(category="meat"), created=True)


@bp.route("/dishes/<int:dish_id>", methods=["GET", "POST"])
@allow("manager")
def edit_dish(dish_id):
    """Change a dish's names, price, category, photo or trial."""
    dish = Dish.get_or_none(Dish.id == dish_id) or abort(404)
    return edit_dish_form(dish, created=False)


def edit_dish_form(dish, created):
    form = DishForm(obj=None if request.method == "POST" else dish)
    if request.method == "GET" and not created:
        form.price.data = dish.price_fen / 100
    status = 200
    if form.validate_on_submit():
        photo = store_photo(form)
        if photo is not False and not name_taken(form, None if created else dish):
            before = None if created else dish_summary(dish)
            fill_dish(dish, form, photo)
            try:
                with database.atomic():
                    dish.save()
                    audit.record(actor(), "dish.create" if created else "dish.update", "dish",
                                 dish.id, before=before, after=dish_summary(dish))
                    if before and before["price_fen"] != dish.price_fen:  # the trend charts mark it
                        DishChange.create(dish=dish, day=clock().today(), kind="price", announce=False,
                                          note=f"¥{before['price_fen'] / 100:.2f} → ¥{dish.price_fen / 100:.2f}",
                                          author=actor())
            except IntegrityError:
                form.name_zh.errors.append(_("Another dish already has this name."))
            else:
                flash(_("Saved %(name)s.", name=dish.name_zh))
                return redirect(url_for("kitchen.dishes"))
    if any(f.errors for f in form):  # form.errors is cached: errors added after validation miss it
        status = 422
    return render_template("office/catalog/dish_form.html", form=form, dish=dish, created=created), status


@bp.post("/dishes/<int:dish_id>/active")
@allow("manager")
def toggle_dish(dish_id):
    """Retire a dish (it leaves the kiosk; its votes stay) or bring it back."""
    dish = Dish.get_or_none(Dish.id == dish_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        with database.atomic():
            dish.active = not dish.active
            dish.save()
            audit.record(actor(), "dish.restore" if dish.active else "dish.retire", "dish", dish.id,
                         name=dish.name_zh)
    return redirect(url_for("kitchen.dishes"))


def week_start(day):
    return day - dt.timedelta(days=day.weekday())


def parse_day(text, default):
    try:
        day = dt.date.fromisoformat(text) if text else default
    except ValueError:
        abort(404)
    if not 2000 <= day.year <= 2100:  # keeps week arithmetic far from the calendar's ends
        abort(404)
    return day


@bp.get("/menus")
@allow("manager")
def menus():
    """A week of menus at a glance: every meal of every day, unplanned ones marked."""
    start = week_start(parse_day(request.args.get("week"), clock().today()))
    days = [start + dt.timedelta(days=i) for i in range(7)]
    meals = [w.name for w in clock().windows]
    plan = {}
    rows = (MenuItem.select(MenuItem.day, MenuItem.meal, Dish.name_zh, Dish.name_en)
            .join(Dish).where(MenuItem.day.between(days[0], days[-1]))
            .order_by(MenuItem.position, Dish.id).tuples())
    lang_en = current_language() == "en"
    for day, meal, name_zh, name_en in rows:
        day = dt.date.fromisoformat(str(day))
        plan.setdefault((day, meal), []).append(name_en if lang_en else name_zh)
    unplanned = sum(1 for d in days for m in meals if (d, m) not in plan)
    return render_template("office/catalog/menus.html", days=days, meals=meals, meal_names=MEALS,
                           plan=plan, unplanned=unplanned, today=clock().today(),
                           prev_week=start - dt.timedelta(days=7), next_week=start + dt.timedelta(days=7),
                           confirm=ConfirmForm())


@bp.route("/menus/<day>/<meal>", methods=["GET", "POST"])
@allow("manager")
def edit_menu(day, meal):
    """Choose the dishes of one meal on one day."""
    day = parse_day(day, None)
    if meal not in [w.name for w in clock().windows]:
        abort(404)
    live = list(Dish.select().where(Dish.active).order_by(Dish.category, Dish.name_zh))
    current = [m.dish_id for m in MenuItem.select().where((MenuItem.day == day) & (MenuItem.meal == meal))
               .order_by(MenuItem.position)]
    form = MenuForm(dishes=current)
    form.dishes.choices = [(d.id, f"{d.name_zh} · {d.name_en} · ¥{d.price_fen / 100:.2f}") for d in live]
    if form.validate_on_submit():
        chosen = list(dict.fromkeys(form.dishes.data))
        with database.atomic():
            replace_menu(day, meal, chosen)
            audit.record(actor(), "menu.plan", "menu", f"{day}/{meal}", before=current, after=chosen)
        flash(_("Saved the menu for %(meal)s on %(day)s.", meal=MEALS[meal], day=day.isoformat()))
        return redirect(url_for("kitchen.menus", week=week_start(day).isoformat()))
    return render_template("office/catalog/menu_form.html", form=form, day=day, meal=meal, meal_names=MEALS,
                           week=week_start(day)), 422 if form.errors else 200


def replace_menu(day, meal, dish_ids):
    MenuItem.delete().where((MenuItem.day == day) & (MenuItem.meal == meal)).execute()
    if dish_ids:
        MenuItem.insert_many([(day, meal, d, pos) for pos, d in enumerate(dish_ids)],
                             fields=[MenuItem.day, MenuItem.meal, MenuItem.dish, MenuItem.position]).execute()


@bp.post("/menus/copy")
@allow("manager")
def copy_last_week():
    """Fill this week's unplanned meals from the same meals a week earlier."""
    start = week_start(parse_day(request.form.get("week"), clock().today()))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    planned = set(MenuItem.select(MenuItem.day, MenuItem.meal)
                  .where(MenuItem.day.between(start, start + dt.timedelta(days=6))).tuples())
    planned = {(dt.date.fromisoformat(str(d)), m) for d, m in planned}
    source = (MenuItem.select(MenuItem.day, MenuItem.meal, MenuItem.dish, MenuItem.position)
              .join(Dish).where(MenuItem.day.between(start - dt.timedelta(days=7), start - dt.timedelta(days=1))
                                & Dish.active).tuples())
    rows = []
    for day, meal, dish_id, position in source:
        target = dt.date.fromisoformat(str(day)) + dt.timedelta(days=7)
        if (target, meal) not in planned:
            rows.append((target, meal, dish_id, position))
    with database.atomic():
        if rows:
            MenuItem.insert_many(rows, fields=[MenuItem.day, MenuItem.meal, MenuItem.dish,
                                               MenuItem.position]).execute()
        audit.record(actor(), "menu.copy_week", "menu", start.isoformat(), items=len(rows))
    filled = len({(r[0], r[1]) for r in rows})
    flash(_("Copied %(n)d meal(s) from last week; meals already planned were kept.", n=filled))
    return redirect(url_for("kitchen.menus", week=start.isoformat()))


@bp.route("/cards", methods=["GET", "POST"])
@allow("manager")
def cards():
    """Printed table cards with a QR code for phones: create, print, revoke."""
    form = CardForm()
    form.dish.choices = [(0, _("Any dish of the meal"))] + [
        (d.id, d.name_zh) for d in Dish.select().where(Dish.active).order_by(Dish.name_zh)]
    status = 200
    if form.validate_on_submit():
        with database.atomic():
            card = QrCard.create(label=form.label.data.strip(), location=(form.location.data or "").strip(),
                                 dish=form.dish.data or None)
            audit.record(actor(), "card.create", "qr_card", card.id, label=card.label, location=card.location)
        flash(_("Card %(label)s is ready to print.", label=card.label))
        return redirect(url_for("kitchen.cards"))
    if request.method == "POST":
        status = 422
    rows = QrCard.select().order_by(QrCard.revoked_at.is_null(False), QrCard.id.desc())
    return render_template("office/catalog/cards.html", form=form, cards=rows, **phone_reach()), status


def phone_reach():
    """What the pages that make QR codes need to warn that phones cannot open them."""
    configured = current_app.config["PUBLIC_URL"]
    return {"reach_problem": qr.phone_reach_problem(configured),
            "reach_base": configured.strip() if configured and configured.strip() else public_base(),
            "reach_setting": "CANTEEN_PUBLIC_URL=http://<{}>:5000",
            "reach_example": "CANTEEN_PUBLIC_URL=http://10.12.0.5:5000"}


def card_url(card):
    return phone_url(qr.card_token(card.id))


@bp.get("/cards/print")
@allow("manager")
def print_cards():
    """A sheet of cards to print: A4 (four A6 cards a page) or A6 (one a page)."""
    layout = request.args.get("layout", "a4")
    if layout not in ("a4", "a6"):
        abort(404)
    ids = [int(i) for i in request.args.getlist("card") if i.isdigit() and int(i) < 2**31]
    query = QrCard.select().where(QrCard.revoked_at.is_null()).order_by(QrCard.id)
    if ids:
        query = query.where(QrCard.id.in_(ids))
    urls = [(card, card_url(card)) for card in query]
    cards = [(card, url, qr.svg(url, "card-qr")) for card, url in urls]
    return render_template("office/catalog/cards_print.html", cards=cards, layout=layout)


@bp.get("/cards/<int:card_id>.svg")
@allow("manager")
def card_svg(card_id):
    """One card as a standalone SVG (A6), for a print shop."""
    card = QrCard.get_or_none(QrCard.id == card_id) or abort(404)
    if card.revoked_at:
        abort(404)
    url = card_url(card)
    body = render_template("office/catalog/card.svg", card=card, url=url,
                           qr=qr.svg(url, "card-qr", 'x="17.5" y="33" width="70" height="70"'))
    response = current_app.response_class(body, mimetype="image/svg+xml")
    response.headers["Content-Disposition"] = f'attachment; filename="canteen-card-{card.id}.svg"'
    return response


@bp.route("/cards/<int:card_id>/revoke", methods=["GET", "POST"])
@allow("manager", "admin")
def revoke_card(card_id):
    """Stop a printed card, after a confirmation page: its QR leads to a 'no longer in use'
    page from now on."""
    card = QrCard.get_or_none(QrCard.id == card_id) or abort(404)
    back = url_for("kitchen.cards") if "manager" in current_roles() else url_for("office.home")
    form = ConfirmForm()
    if card.revoked_at is not None:
        flash(_("Card %(label)s no longer works.", label=card.label))
        return redirect(back)
    if not form.validate_on_submit():  # GET: ask first
        return render_template("office/catalog/revoke_card.html", card=card, url=card_url(card),
                               form=form, back=back)
    with database.atomic():  # two managers confirming at once: one revocation, one audit entry
        if (QrCard.update(revoked_at=utcnow())
                .where((QrCard.id == card.id) & QrCard.revoked_at.is_null()).execute()):
            audit.record(actor(), "card.revoke", "qr_card", card.id, label=card.label)
    flash(_("Card %(label)s no longer works.", label=card.label))
    return redirect(back)
