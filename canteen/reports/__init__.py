"""Feedback reports for union representatives (and managers): the dish scoreboard, trial
verdicts, trends, reasons, comments and the printable weekly report.

Every number comes from counted votes only (`Rating.counted()`: neither flagged nor replaced;
how many were left out is shown) through the rollups in canteen/rollups.py; any group with
fewer than REPORT_MIN_GROUP voters is suppressed.
"""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.context_processor
def _choices():
    from ..clock import clock
    from ..feedback.rollups import VoteRollup
    from ..models import Dish
    from ..vocabulary import MEALS, SHIFT_NAMES

    def places(filters):
        """The places votes came from in the period the report shows."""
        return [p for (p,) in VoteRollup.select(VoteRollup.place).distinct()
                .where(VoteRollup.day.between(filters.first, filters.last) & (VoteRollup.place != ""))
                .order_by(VoteRollup.place).tuples()]

    return {"report_meals": MEALS,
            "report_shifts": [(w.name, SHIFT_NAMES.get(w.name, w.name)) for w in clock().shifts],
            "report_places": places,
            "report_dishes": lambda: Dish.select().order_by(Dish.active.desc(), Dish.name_zh)}

from . import comments, dishes, scoreboard, trends, trials, weekly  # noqa: E402, F401  (routes
