"""One dish over time: its weekly score with the days its recipe, price or portion changed
marked, the numbers before and after each change, and its reasons week by week."""
import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from peewee import fn

from .. import audit
from ..access import actor, allow, current_roles
from ..clock import clock
from ..feedback.models import DishChange
from ..feedback.rollups import VoteRollup
from ..i18n import current_language
from ..models import Dish, database
from ..office.forms import DishChangeForm
from ..vocabulary import CHANGE_KIND_NAMES
from .blueprint import bp
from .export import table_response
from .figures import prior_mean, stats, total
from .filters import Filters, iso_week, read_filters
from .trends import MAX_DAYS, reason_tables, trend_chart, weekly_table

COMPARE_DAYS = 28  # before/after windows around a change


def before_after(dish, change, today):
    """Counted votes of the COMPARE_DAYS before the change and of those from it on."""
    before = Filters(change.day - dt.timedelta(days=COMPARE_DAYS), change.day - dt.timedelta(days=1), dish=dish.id)
    after = Filters(change.day, min(change.day + dt.timedelta(days=COMPARE_DAYS - 1), today), dish=dish.id)
    out = {}
    for name, period in (("before", before), ("after", after)):
        if period.first > period.last:
            out[name] = None
            continue
        row = stats(total(period), prior_mean(period))
        row.update(first=period.first, last=period.last)
        out[name] = row
    return out


def dish_page(dish, form=None, status=200):
    filters, errors = read_filters(default_days=182, fields=("meal", "shift", "place"), max_days=MAX_DAYS,
                                   weeks=True)
    filters = filters._replace(dish=dish.id)
    if not request.args.get("from"):  # by default from the dish's first vote, not empty weeks
        first_vote = VoteRollup.select(fn.MIN(VoteRollup.day)).where(VoteRollup.dish == dish.id).scalar()
        if first_vote:
            first_vote = dt.date.fromisoformat(str(first_vote))
            if filters.first < first_vote <= filters.last:
                filters = filters._replace(first=first_vote - dt.timedelta(days=first_vote.weekday()))
    lang = current_language()
    today = clock().today()
    weeks, rows = weekly_table(filters, "dish", lang)
    row = rows[0] if rows else None
    changes = list(DishChange.select().where(DishChange.dish == dish.id).order_by(DishChange.day.desc(), DishChange.id.desc()))
    marks = []
    for c in changes:
        week = iso_week(c.day)
        if week in weeks:
            marks.append((weeks.index(week) - 0.5 + c.day.weekday() / 7, f"{c.day:%m-%d} {change_label(c.kind)}"))
    chart = trend_chart(_("Mean score per week"), weeks, rows, marks) if row else None
    comparisons = [(c, before_after(dish, c, today)) for c in changes]
    dish_rows, week_rows, codes, _totals = reason_tables(filters, lang)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx") and not errors:
        series = [[w, c and c["votes"], c and c["mean"], c and c["good_share"]]
                  for w, c in zip(weeks, row["cells"] if row else [None] * len(weeks))]
        compare = [[c.day, c.kind, c.note] + [side and side.get(k) for side in (ba["before"], ba["after"])
                                              for k in ("votes", "mean", "good_share", "good_interval")]
                   for c, ba in comparisons]
        return table_response(f"dish-{dish.id}-{filters.first}-{filters.last}", [
            ("weeks", ("week", "votes", "mean", "good_share"), series),
            ("changes", ("day", "kind", "note", "votes_before", "mean_before", "good_share_before",
                         "interval_before", "votes_after", "mean_after", "good_share_after", "interval_after"),
             compare)], fmt)
    form = form or DishChangeForm(formdata=None, day=today)
    overall = stats(total(filters), prior_mean(filters._replace(dish=None)))
    return render_template("reports/dish.html", dish=dish, filters=filters, errors=errors, weeks=weeks, row=row,
                           chart=chart, comparisons=comparisons, week_rows=week_rows, codes=codes, form=form,
                           can_mark=bool(current_roles() & {"manager"}), overall=overall, lang=lang), \
        status if not errors else 400


def change_label(kind):
    return str(CHANGE_KIND_NAMES.get(kind, kind))


@bp.get("/dishes/<int:dish_id>")
@allow("union", "manager", "admin")
def dish(dish_id):
    """One dish week by week, its changes marked, before and after each change."""
    return dish_page(Dish.get_or_none(Dish.id == dish_id) or abort(404))


@bp.post("/dishes/<int:dish_id>/changes")
@allow("manager")
def mark_change(dish_id):
    """Mark the day a dish's recipe, price or portion changed (appears on charts and kiosks)."""
    dish = Dish.get_or_none(Dish.id == dish_id) or abort(404)
    form = DishChangeForm()
    if not form.validate_on_submit():
        return dish_page(dish, form, 422)
    with database.atomic():
        change = DishChange.create(dish=dish, day=form.day.data, kind=form.kind.data, note=form.note.data or "",
                                   announce=form.announce.data, author=actor())
        audit.record(actor(), "dish.change", "dish", dish.id, day=change.day, kind=change.kind, note=change.note)
    flash(_("Marked the change of %(dish)s on %(day)s.", dish=dish.name(current_language()), day=change.day))
    return redirect(url_for("reports.dish", dish_id=dish.id))
