"""The dish scoreboard: every dish with its votes, mean, fair score, good share with its
interval, faces, top reasons, price and value for money."""
from flask import current_app, render_template, request
from flask_babel import gettext as _

from .. import charts
from ..access import allow
from ..i18n import current_language
from ..models import Dish
from ..scoring import suppressed
from ..vocabulary import REASONS
from . import bp
from .export import table_response
from .figures import combined, hidden_groups, prior_mean, stats, sums_by, tag_counts
from .filters import read_filters


def scoreboard_rows(filters, lang):
    """(rows, prior, counted votes, left out) for the filtered period, best fair score first."""
    per_dish = sums_by(filters, "dish")
    overall = combined(per_dish)  # the scoreboard never filters by dish: the sum is the canteen's
    prior = prior_mean(filters, overall)
    tags, per_tag = {}, tag_counts(filters, "dish")
    for (dish_id, tag), n in (per_tag or {}).items():
        tags.setdefault(dish_id, []).append((n, tag))
    dishes = {d.id: d for d in Dish.select()}
    hide = hidden_groups({key: sums.n for key, sums in per_dish.items()})
    rows = []
    for (dish_id,), sums in per_dish.items():
        dish = dishes.get(dish_id)
        if dish is None or not sums.n:
            continue
        row = stats(sums, prior, (dish_id,) in hide)
        row.update({
            "id": dish.id, "dish": dish.name(lang), "price": dish.price_fen / 100,
            "reasons": None if per_tag is None else [] if row["suppressed"] else
            [str(REASONS.get(t, t)) for _n, t in sorted(tags.get(dish.id, []), reverse=True)[:3]],
            "value": round(row["fair"] / (dish.price_fen / 100), 2) if row["fair"] and dish.price_fen else None,
        })
        rows.append(row)
    rows.sort(key=lambda d: (d["fair"] is None, -(d["fair"] or 0), -d["votes"]))
    shown_prior = None if suppressed(overall.n, current_app.config["REPORT_MIN_GROUP"]) else round(prior, 2)
    return rows, shown_prior, overall.n, overall.flagged + overall.replaced


COLUMNS = ("dish", "price", "votes", "mean", "fair", "good_share", "good_interval", "faces", "reasons", "value")


@bp.get("/scoreboard")
@allow("union", "manager", "admin")
def scoreboard():
    """Every dish: votes, mean, fair score, good share with its interval, faces, reasons, value
    for money. ?format=csv|xlsx exports the same table."""
    filters, errors = read_filters(fields=("meal", "shift", "place"))
    lang = current_language()
    rows, prior, counted, left_out = scoreboard_rows(filters, lang)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx") and not errors:
        return table_response(f"scoreboard-{filters.first}-{filters.last}" + (f"-{filters.meal}" if filters.meal else ""),
                              [("scoreboard", COLUMNS, [[r.get(c) for c in COLUMNS] for r in rows])], fmt)
    value = charts.scatter(
        _("Fair score against price"), [(r["dish"], r["price"], r["fair"]) for r in rows if r["fair"] is not None],
        "¥", "★")
    return render_template("reports/scoreboard.html", rows=rows, prior=prior, total=counted, left_out=left_out,
                           filters=filters, errors=errors, lang=lang, value_chart=value,
                           face_strip=charts.face_strip, min_votes=current_app.config["REPORT_MIN_VOTES"]), \
        400 if errors else 200
