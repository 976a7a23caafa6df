"""The signed-in home page: what each role can do from here."""
from flask import Blueprint, render_template
from flask_login import current_user

from ..access import allow
from ..clock import clock
from ..models import Dish, MenuItem
from ..vocabulary import MEALS
from .accounts import ROLES

bp = Blueprint("office", __name__, url_prefix="/office")


@bp.get("/")
@allow(*ROLES)
def home():
    """Start page after sign-in, with shortcuts for the user's roles."""
    today = clock().today()
    unplanned = [str(MEALS[w.name]) for w in clock().windows
                 if not MenuItem.select().where((MenuItem.day == today) & (MenuItem.meal == w.name)).exists()]
    return render_template("office/home.html", roles=current_user.role_set, today=today,
                           dish_count=Dish.select().where(Dish.active).count(), unplanned=unplanned)
