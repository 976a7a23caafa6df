"""The reports' blueprint and what every report page's filters offer."""
from flask import Blueprint

from ..clock import clock
from ..feedback.rollups import VoteRollup
from ..models import Dish
from ..vocabulary import MEALS, SHIFT_NAMES

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.context_processor
def _choices():

    def places(filters):
        """The places votes came from in the period the report shows."""
        return [p for (p,) in VoteRollup.select(VoteRollup.place).distinct()
                .where(VoteRollup.day.between(filters.first, filters.last) & (VoteRollup.place != ""))
                .order_by(VoteRollup.place).tuples()]

    return {"report_meals": MEALS,
            "report_shifts": [(w.name, SHIFT_NAMES.get(w.name, w.name)) for w in clock().shifts],
            "report_places": places,
            "report_dishes": lambda: Dish.select().order_by(Dish.active.desc(), Dish.name_zh)}
