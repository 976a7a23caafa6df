"""New dishes on trial: a suggested verdict (keep / improve / drop) from the written rules in
canteen/reports/scoring.py with its evidence, and the manager's decision beside it."""
import datetime as dt
import json

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..access import actor, allow, current_roles
from ..clock import clock
from ..feedback.models import TrialDecision
from ..i18n import current_language
from ..models import Dish, database
from ..office.forms import TrialDecisionForm
from .blueprint import bp
from .export import table_response
from .figures import prior_mean, stats, total
from .filters import Filters
from .scoring import TrialRules, bayesian_average, trial_verdict


def rules():
    config = current_app.config
    return TrialRules(min_votes=config["TRIAL_MIN_VOTES"], keep_low=config["TRIAL_KEEP_LOW_PERCENT"] / 100,
                      drop_high=config["TRIAL_DROP_HIGH_PERCENT"] / 100)


def trial_period(dish):
    end = dish.trial_end or dish.trial_start + dt.timedelta(days=current_app.config["TRIAL_DAYS"] - 1)
    return dish.trial_start, end


def trial_row(dish, today, lang, decided_before=None):
    """Everything the trials page and the weekly report say about one dish on trial (as it
    stood before `decided_before`, UTC, for a past week's report)."""
    start, end = trial_period(dish)
    period = Filters(start, min(end, today) if start <= today else start)
    sums = total(period._replace(dish=dish.id))
    prior = prior_mean(period)
    shown = stats(sums, prior)
    # the verdict weighs the fair score even where a report would say "not enough votes yet"
    fair = bayesian_average(sums.total, sums.n, prior, current_app.config["REPORT_PRIOR_WEIGHT"]) if sums.n else None
    verdict, interval = trial_verdict(sums.good, sums.n, rules(), fair, prior)
    if shown["suppressed"]:  # CANTEEN_REPORT_MIN_GROUP above TRIAL_MIN_VOTES: privacy first
        verdict, interval = "not_enough", None
    decisions = TrialDecision.select().where(TrialDecision.dish == dish.id)
    if decided_before is not None:
        decisions = decisions.where(TrialDecision.decided_at < decided_before)
    decision = decisions.order_by(TrialDecision.id.desc()).first()
    return {
        "id": dish.id, "dish": dish.name(lang), "price": dish.price_fen / 100, "start": start, "end": end,
        "running": today <= end, "votes": sums.n, "prior": round(prior, 2), **{k: shown[k] for k in (
            "suppressed", "mean", "fair", "good_share", "good_interval", "faces")},
        "verdict": verdict, "interval": tuple(round(x, 4) for x in interval) if interval else None,
        "decision": decision,
    }


def trial_rows(today, lang):
    dishes = Dish.select().where(Dish.trial_start.is_null(False)).order_by(Dish.trial_start.desc(), Dish.id)
    return [trial_row(d, today, lang) for d in dishes if d.trial_start <= today]


COLUMNS = ("dish", "start", "end", "running", "votes", "mean", "fair", "prior", "good_share", "interval",
           "verdict", "decision", "decision_note", "decided_by")


@bp.get("/trials")
@allow("union", "manager", "admin")
def trials(forms=None, status=200):
    """Every dish on trial, its suggested verdict with the evidence, and the decision taken."""
    lang = current_language()
    rows = trial_rows(clock().today(), lang)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        table = [[r["dish"], r["start"], r["end"], r["running"], r["votes"], r["mean"], r["fair"], r["prior"],
                  r["good_share"], r["interval"], r["verdict"], r["decision"] and r["decision"].decision,
                  r["decision"] and r["decision"].note, r["decision"] and r["decision"].author] for r in rows]
        return table_response(f"trials-{clock().today()}", [("trials", COLUMNS, table)], fmt)
    forms = forms or {}
    can_decide = bool(current_roles() & {"manager"})
    for r in rows:
        if r["id"] not in forms:
            forms[r["id"]] = TrialDecisionForm(formdata=None, decision=r["verdict"] if r["verdict"] in (
                "keep", "improve", "drop") else "improve")
    return render_template("reports/trials.html", rows=rows, forms=forms, can_decide=can_decide,
                           rules=rules(), lang=lang), status


@bp.post("/trials/<int:dish_id>/decision")
@allow("manager")
def decide(dish_id):
    """Record the manager's decision on a dish on trial (the latest one stands)."""
    dish = Dish.get_or_none((Dish.id == dish_id) & Dish.trial_start.is_null(False)) or abort(404)
    form = TrialDecisionForm()
    if not form.validate_on_submit():
        return trials(forms={dish.id: form}, status=422)
    row = trial_row(dish, clock().today(), "zh_CN")
    evidence = {k: row[k] for k in ("votes", "mean", "fair", "prior", "good_share", "interval")}
    evidence.update(start=row["start"].isoformat(), end=row["end"].isoformat(), rules=rules()._asdict())
    with database.atomic():
        decision = TrialDecision.create(dish=dish, decision=form.decision.data, suggested=row["verdict"],
                                        evidence=json.dumps(evidence), note=form.note.data or "",
                                        announce=form.announce.data, author=actor())
        audit.record(actor(), "trial.decide", "dish", dish.id, decision=decision.decision,
                     suggested=decision.suggested, note=decision.note)
    flash(_("Decision recorded for %(dish)s.", dish=dish.name(current_language())))
    return redirect(url_for("reports.trials") + f"#trial-{dish.id}")
