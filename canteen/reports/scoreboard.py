"""The dish scoreboard: every dish with its votes, mean, fair score, good share with its
interval, faces, top reasons, price and value for money."""
from flask import current_app, render_template, request
from flask_babel import gettext as _

from .. import charts
from ..access import allow
from ..i18n import current_language
from ..vocabulary import REASONS
from .blueprint import bp
from .export import table_response
from .figures import dish_rows
from .filters import read_filters
from .scoring import suppressed


def scoreboard_rows(filters, lang):
    """(rows, prior, counted votes, left out) for the filtered period, best fair score first."""
    rows, overall, prior, _tags = dish_rows(filters)
    for row in rows:
        dish = row.pop("dish")
        row.update({
            "id": dish.id, "dish": dish.name(lang), "price": dish.price_fen / 100,
            "reasons": None if row["reasons"] is None else [str(REASONS.get(t, t)) for t in row["reasons"]],
            "value": round(row["fair"] / (dish.price_fen / 100), 2) if row["fair"] and dish.price_fen else None,
        })
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
