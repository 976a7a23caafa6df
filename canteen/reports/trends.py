"""Week by week: per dish, meal (the night-shift meal too), shift or place; and the reason
chips per dish and over time."""
from flask import current_app, render_template, request
from flask_babel import gettext as _

from .. import charts
from ..access import allow
from ..i18n import current_language
from ..models import Dish
from ..vocabulary import MEALS, REASONS, SHIFT_NAMES
from .blueprint import bp
from .export import table_response
from .figures import by_week, hidden_groups, sums_by, tag_counts, total
from .filters import iso_week, read_filters, weeks_between
from .scoring import suppressed

BY = ("dish", "meal", "shift", "place")
CHART_LINES = 8  # more lines than this and nobody reads the chart
MAX_DAYS = 731  # week-by-week reports: two years of columns at most


def group_names(by, lang):
    """Code → what a reader calls it, for one breakdown."""
    if by == "dish":
        return {d.id: d.name(lang) for d in Dish.select()}
    if by == "meal":
        return {k: str(v) for k, v in MEALS.items()}
    if by == "shift":
        return {k: str(v) for k, v in SHIFT_NAMES.items()} | {"": _("no shift")}
    return {"": _("unknown place")}


def weekly_table(filters, by, lang):
    """(weeks, rows): rows of {key, name, votes, cells: [{votes, mean, good_share} or None]},
    busiest first; a cell with fewer than REPORT_MIN_GROUP votes is None (suppressed)."""
    k = current_app.config["REPORT_MIN_GROUP"]
    weeks = weeks_between(filters.first, filters.last)
    per_week = by_week(sums_by(filters, "day", by))
    names = group_names(by, lang)
    groups, columns = {}, {}
    for (week, key), sums in per_week.items():
        groups.setdefault(key, {})[week] = sums
        columns.setdefault(week, {})[key] = sums.n
    hidden = {week: hidden_groups(counts, k) for week, counts in columns.items()}  # per week column
    rows = []
    for key, cells in groups.items():
        votes = sum(s.n for s in cells.values())
        if not votes:
            continue
        # and per row: a shown total (the dish page's mean) minus the shown weeks must not
        # give a hidden week away
        row_hidden = hidden_groups({week: s.n for week, s in cells.items()}, k)
        rows.append({"key": key, "name": names.get(key, key if key != "" else _("unknown")), "votes": votes,
                     "hidden": suppressed(votes, k),
                     "cells": [None if week not in cells or key in hidden.get(week, ()) or week in row_hidden else
                               {"votes": cells[week].n, "mean": round(cells[week].mean, 2),
                                "good_share": round(cells[week].good / cells[week].n, 3)} for week in weeks]})
    rows.sort(key=lambda r: -r["votes"])
    return weeks, rows


def trend_chart(title, weeks, rows, marks=()):
    series = [(r["name"], [c and c["mean"] for c in r["cells"]]) for r in rows if not r["hidden"]][:CHART_LINES]
    if not any(v is not None for _n, values in series for v in values):
        return None
    return charts.line_chart(title, [w[5:] for w in weeks], series, marks)


@bp.get("/trends")
@allow("union", "manager", "admin")
def trends():
    """Mean score week by week per dish, meal, shift or place (?by=), with a chart."""
    filters, errors = read_filters(default_days=84, max_days=MAX_DAYS, weeks=True)
    by = request.args.get("by") or "meal"
    if by not in BY:
        errors["by"], by = _("Choose dish, meal, shift or place."), "meal"
    lang = current_language()
    weeks, rows = weekly_table(filters, by, lang)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx") and not errors:
        table = [[r["name"], week, c and c["votes"], c and c["mean"], c and c["good_share"]]
                 for r in rows for week, c in zip(weeks, r["cells"])]
        return table_response(f"trends-{by}-{filters.first}-{filters.last}",
                              [("trends", (by, "week", "votes", "mean", "good_share"), table)], fmt)
    chart = trend_chart(_("Mean score per week"), weeks, rows)
    return render_template("reports/trends.html", filters=filters, errors=errors, by=by, weeks=weeks, rows=rows,
                           chart=chart, lang=lang, shown=CHART_LINES, overall=total(filters)), \
        400 if errors else 200


def reason_tables(filters, lang):
    """(per dish rows, per week rows, reason codes in use, totals) of reason chips; all None
    when the filters name a place or shift (reasons are not kept per place or shift)."""
    k = current_app.config["REPORT_MIN_GROUP"]
    per_dish = tag_counts(filters, "dish")
    if per_dish is None:
        return None, None, [], []
    per_day = tag_counts(filters, "day")
    votes = {key[0]: s.n for key, s in sums_by(filters, "dish").items()}
    hide = hidden_groups(votes, k)
    if suppressed(sum(votes.values()), k):  # too few votes altogether: no totals, no chart
        per_dish, per_day = {}, {}
    codes = [c for c in REASONS if any(t == c for (_d, t) in per_dish)]
    names = {d.id: d.name(lang) for d in Dish.select()}
    dish_rows = []
    for dish_id in sorted({d for d, _t in per_dish}, key=lambda d: -votes.get(d, 0)):
        hidden = dish_id in hide
        dish_rows.append({"id": dish_id, "dish": names.get(dish_id, dish_id), "votes": votes.get(dish_id, 0),
                          "hidden": hidden,
                          "counts": None if hidden else [per_dish.get((dish_id, c), 0) for c in codes]})
    weeks = weeks_between(filters.first, filters.last)
    week_counts = {}
    for (day, tag), n in per_day.items():
        week_counts[(iso_week(day), tag)] = week_counts.get((iso_week(day), tag), 0) + n
    week_votes = {w: s.n for (w,), s in by_week(sums_by(filters, "day")).items()}
    week_hidden = hidden_groups(week_votes, k)  # the dish rows are the weeks' total
    week_rows = [{"week": w, "votes": week_votes.get(w, 0),
                  "counts": None if not week_votes.get(w) or w in week_hidden else
                  [week_counts.get((w, c), 0) for c in codes]} for w in weeks]
    totals = [(str(REASONS[c]), sum(n for (_d, t), n in per_dish.items() if t == c)) for c in codes]
    return dish_rows, week_rows, codes, totals


@bp.get("/reasons")
@allow("union", "manager", "admin")
def reasons():
    """Reason-chip counts per dish and per week (?table=weeks exports the second table)."""
    filters, errors = read_filters(fields=("meal", "dish"), max_days=MAX_DAYS)  # reasons: per day, meal, dish
    lang = current_language()
    dish_rows, week_rows, codes, totals = reason_tables(filters, lang)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx") and not errors:
        per_dish = ("reasons by dish", ["dish", "votes"] + codes,
                    [[r["dish"], r["votes"]] + (r["counts"] or [""] * len(codes)) for r in dish_rows])
        per_week = ("reasons by week", ["week", "votes"] + codes,
                    [[r["week"], r["votes"]] + (r["counts"] or [""] * len(codes)) for r in week_rows])
        tables = [per_week, per_dish] if request.args.get("table") == "weeks" else [per_dish, per_week]
        return table_response(f"reasons-{filters.first}-{filters.last}", tables, fmt)
    chart = charts.bar_chart(_("Reasons given"), sorted(totals, key=lambda t: -t[1]))
    return render_template("reports/reasons.html", filters=filters, errors=errors, dish_rows=dish_rows,
                           week_rows=week_rows, codes=codes, chart=chart, lang=lang), 400 if errors else 200
