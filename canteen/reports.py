"""Feedback reports for union representatives (and managers): the dish scoreboard first.

Counted votes only (`Rating.counted()`: no flagged, no replaced ones — how many were left out
is shown); groups with fewer than REPORT_MIN_GROUP voters are suppressed.
"""
import csv
import datetime as dt
import io

from flask import Blueprint, Response, abort, current_app, render_template, request
from peewee import Case, fn

from .access import allow
from .clock import clock
from .i18n import current_language
from .meals import MEAL_ORDER
from .models import Dish, Rating, RatingTag
from .scoring import bayesian_average, suppressed, wilson_interval
from .vocabulary import MEALS, REASONS

bp = Blueprint("reports", __name__, url_prefix="/reports")


def period():
    """(first, last, meal) from ?from=&to=&meal=, defaulting to the last 28 days."""
    today = clock().today()
    try:
        last = dt.date.fromisoformat(request.args.get("to") or today.isoformat())
        first = dt.date.fromisoformat(request.args.get("from") or (last - dt.timedelta(days=27)).isoformat())
    except (ValueError, OverflowError):
        abort(400)
    if first > last or not (2000 <= first.year and last.year <= 2100):
        abort(400)
    meal = request.args.get("meal") or None
    if meal is not None and meal not in MEAL_ORDER:
        abort(400)
    return first, last, meal


def scoreboard_rows(first, last, meal, lang):
    config = current_app.config
    where = Rating.day.between(first, last)
    if meal:
        where &= Rating.meal == meal
    counted = Rating.counted().where(where)
    total = counted.select(fn.COUNT(Rating.id), fn.SUM(Rating.score)).tuples().get()
    prior = (total[1] / total[0]) if total[0] else 3.0
    faces = [fn.SUM(Case(None, [(Rating.score == s, 1)], 0)).alias(f"s{s}") for s in range(1, 6)]
    rows = (counted.select(Rating.dish, fn.COUNT(Rating.id).alias("n"), fn.SUM(Rating.score).alias("total"), *faces)
            .group_by(Rating.dish).dicts())
    tags = {}
    for dish_id, tag, n in (RatingTag.select(Rating.dish, RatingTag.tag, fn.COUNT(RatingTag.rating))
                            .join(Rating).where(where & Rating.replaced_by.is_null() & Rating.flag.is_null())
                            .group_by(Rating.dish, RatingTag.tag).tuples()):
        tags.setdefault(dish_id, []).append((n, tag))
    dishes = {d.id: d for d in Dish.select()}
    out = []
    for r in rows:
        dish = dishes.get(r["dish"])
        if dish is None:
            continue
        n = r["n"]
        good = (r["s4"] or 0) + (r["s5"] or 0)
        hidden = suppressed(n, config["REPORT_MIN_GROUP"])
        enough = n >= config["REPORT_MIN_VOTES"]
        fair = bayesian_average(r["total"], n, prior, config["REPORT_PRIOR_WEIGHT"])
        out.append({
            "dish": dish.name(lang), "price": dish.price_fen / 100, "votes": n, "suppressed": hidden,
            "enough": enough and not hidden,
            "mean": round(r["total"] / n, 2) if not hidden else None,
            "fair": round(fair, 2) if enough and not hidden else None,
            "good_share": round(good / n, 3) if enough and not hidden else None,
            "good_interval": tuple(round(x, 3) for x in wilson_interval(good, n)) if enough and not hidden else None,
            "faces": [r[f"s{s}"] or 0 for s in range(1, 6)] if not hidden else None,
            "reasons": [str(REASONS.get(t, t)) for _n, t in sorted(tags.get(dish.id, []), reverse=True)[:3]]
            if not hidden else [],
            "value": round(fair / (dish.price_fen / 100), 2) if enough and not hidden and dish.price_fen else None,
        })
    out.sort(key=lambda d: (d["fair"] is None, -(d["fair"] or 0), -d["votes"]))
    left_out = Rating.select().where(where & (Rating.flag.is_null(False) | Rating.replaced_by.is_null(False))).count()
    return out, round(prior, 2), total[0], left_out


COLUMNS = ("dish", "price", "votes", "mean", "fair", "good_share", "good_interval", "faces", "reasons", "value")


@bp.get("/scoreboard")
@allow("union", "manager", "admin")
def scoreboard():
    """Every dish: votes, mean, fair score, good share with its interval, faces, reasons, value
    for money. ?format=csv|xlsx exports the same table."""
    first, last, meal = period()
    lang = current_language()
    rows, prior, total, left_out = scoreboard_rows(first, last, meal, lang)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        return export(rows, fmt, f"scoreboard-{first}-{last}{'-' + meal if meal else ''}")
    return render_template("reports/scoreboard.html", rows=rows, prior=prior, total=total, left_out=left_out,
                           first=first, last=last, meal=meal, meals=MEALS, lang=lang,
                           min_votes=current_app.config["REPORT_MIN_VOTES"])


def cell(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " / ".join(str(v) for v in value)
    return value


def export(rows, fmt, name):
    table = [list(COLUMNS)] + [[cell(r[c]) if not (r["suppressed"] and c not in ("dish", "price", "votes"))
                                else "" for c in COLUMNS] for r in rows]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for line in table:
            writer.writerow(["'" + v if isinstance(v, str) and v and v[0] in "=+-@" else v for v in line])
        return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    from openpyxl import Workbook
    from .safety.standing import as_text
    book = Workbook()
    sheet = book.active
    sheet.title = "scoreboard"
    for line in table:
        sheet.append(line)
    as_text(sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(buffer.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
