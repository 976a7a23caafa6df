"""The workers' representatives' suggestions register: the union records what was raised at
the canteen committee (伙委会), the workers' congress (职代会) or gathered from the teams; the
manager answers; an accepted suggestion links to the trial or the change it produced, and its
page shows that trial's verdict or the change's before/after as the other reports compute them.

Who asked is a team, shift or place; a person's name only when given, and never on a kiosk.
"""
import datetime as dt
import time

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, Select, fn

from .. import audit
from ..access import actor, allow, current_roles
from ..clock import clock
from ..db import write_transaction
from ..feedback.models import DishChange, TrialDecision
from ..i18n import current_language, names_list
from ..models import Dish, database, utcnow
from ..office.forms import AnswerForm, BackerForm, LinkForm, SuggestionForm
from ..vocabulary import CHANGE_KIND_NAMES, SUGGESTION_KINDS, SUGGESTION_STATUS, SUGGESTION_VENUES
from .blueprint import bp
from .dishes import before_after
from .export import table_response
from .models import Suggestion, SuggestionBacker, SuggestionStep
from .trials import trial_row

OPEN = ("open", "accepted")  # not closed yet: waiting for an answer, or accepted and not done
TRIAL_OUTCOMES = {"keep": "kept", "drop": "dropped", "improve": "improve"}
SHOWN_ON_KIOSK = ("kept", "better")  # done, and the miners' votes agree it was worth it


# --- counting ------------------------------------------------------------------------------

def answer_days():
    return current_app.config["SUGGESTION_ANSWER_DAYS"]


def overdue_before(now_utc=None):
    """Suggestions recorded before this UTC time and still unanswered are overdue."""
    return (now_utc or utcnow()) - dt.timedelta(days=answer_days())


def overdue(now_utc=None):
    return (Suggestion.select()
            .where((Suggestion.status == "open") & (Suggestion.created_at < overdue_before(now_utc)))
            .order_by(Suggestion.created_at))


def counts():
    """What the union's tile and the register show: open ones, and those waiting past the days."""
    return {"open": Suggestion.select().where(Suggestion.status.in_(OPEN)).count(),
            "overdue": overdue().count(), "days": answer_days()}


# --- outcomes, as the trials and dish pages compute them -----------------------------------

def outcome(suggestion, today, lang, decided_before=None):
    """What the suggestion produced: {"result", "trial": trial_row | None, "change", "compare"}.
    result: kept / dropped / improve / pending (a trial), better / worse / same / pending (a
    change), none (nothing linked)."""
    out = {"result": "none", "trial": None, "change": None, "compare": None}
    if suggestion.trial_dish_id:
        dish = Dish.get_by_id(suggestion.trial_dish_id)
        if dish.trial_start is not None and dish.trial_start <= today:
            row = trial_row(dish, today, lang, decided_before=decided_before)
            out["trial"] = row
            decision = row["decision"]
            out["result"] = TRIAL_OUTCOMES.get(decision.decision, "pending") if decision else "pending"
        else:
            out["result"] = "pending"
    elif suggestion.change_id:
        change = DishChange.select(DishChange, Dish).join(Dish).where(DishChange.id == suggestion.change_id).get()
        compare = before_after(change.dish, change, today) if change.day <= today else {"before": None, "after": None}
        out.update(change=change, compare=compare, result=compare_result(compare))
    return out


def compare_result(compare):
    """better / worse / same by the fair score before and after, pending while either is missing."""
    before, after = compare.get("before"), compare.get("after")
    if not before or not after or before["fair"] is None or after["fair"] is None:
        return "pending"
    if after["fair"] > before["fair"]:
        return "better"
    return "worse" if after["fair"] < before["fair"] else "same"


def kept_for_kiosks(key, compute):
    """compute(), kept per process: every kiosk asks for its menu often, and the "you asked, we
    changed" list reads the rollups for each done suggestion's outcome. The copy is taken again
    when a suggestion step, a trial decision or a dish change was written since (in any process:
    one small query, written_stamp), and at the latest after ANNOUNCE_CACHE_SECONDS (new votes move a
    change's scores; a dish renamed in the catalog)."""
    ttl = current_app.config["ANNOUNCE_CACHE_SECONDS"]
    if ttl <= 0:
        return compute()
    cache = current_app.extensions.setdefault("canteen_kiosk_announced", {})
    stamp, now = written_stamp(), time.monotonic()
    kept = cache.get(key)
    if kept and now - kept[0] < ttl and kept[1] == stamp:
        return kept[2]
    value = compute()
    for old in [k for k, v in cache.items() if now - v[0] >= ttl]:  # e.g. yesterday's, never asked for again
        cache.pop(old, None)
    cache[key] = (now, stamp, value)
    return value


def written_stamp():
    """How many suggestion steps, trial decisions and dish changes there are, and the newest of
    each: rows only get added (every answer, link and backer is a step), and the count also
    moves when a transaction holding a lower id commits after a higher one (PostgreSQL)."""
    tables = (SuggestionStep, TrialDecision, DishChange)
    columns = [Select(columns=[f(m.id)], from_list=[m]) for m in tables for f in (fn.COUNT, fn.MAX)]
    return Select(columns=columns).bind(database).tuples()[0]


def kiosk_items(lang, today, days):
    """Done suggestions whose dish was kept or scored better, for the kiosk's "you asked, we
    changed": the teams that asked and what was done — never a person."""
    since = clock().local_to_utc(dt.datetime.combine(today - dt.timedelta(days=days), dt.time()))
    out = []
    for s in (Suggestion.select().where((Suggestion.status == "done") & (Suggestion.done_at >= since)
                                        & (Suggestion.trial_dish.is_null(False) | Suggestion.change.is_null(False)))
              .order_by(Suggestion.done_at.desc()).limit(20)):
        result = outcome(s, today, lang)
        if result["result"] not in SHOWN_ON_KIOSK:
            continue
        dish = Dish.get_by_id(s.trial_dish_id) if s.trial_dish_id else result["change"].dish
        if any(item["dish_id"] == dish.id for item in out):
            continue  # a dish appears once (the newest): the screen shows three items
        teams = s.teams()
        text = (_("Kept on the menu") if result["result"] == "kept" else _("Scored better since the change"))
        out.append({"dish_id": dish.id, "dish": dish.name(lang), "kind": "suggestion",
                    "text": _("%(teams)s asked: %(what)s", teams=names_list(teams, lang),
                              what=text),
                    "note": s.plan, "since": clock().to_local(s.done_at).date().isoformat(), "teams": teams})
        if len(out) == 3:
            break
    return out


# --- the register --------------------------------------------------------------------------

def register_rows(today, lang):
    rows = []
    cutoff = overdue_before()
    for s in Suggestion.select().order_by(Suggestion.created_at.desc(), Suggestion.id.desc()):
        rows.append({"s": s, "teams": s.teams(), "outcome": outcome(s, today, lang),
                     "overdue": s.status == "open" and s.created_at < cutoff,
                     "late": s.status == "accepted" and s.due is not None and s.due < today})
    return rows


COLUMNS = ("id", "recorded", "raised_on", "venue", "kind", "dish", "suggestion", "team", "teams", "backers",
           "person", "status", "overdue", "plan", "due", "reason", "answered", "done", "outcome",
           "trial_dish", "trial_votes", "trial_fair", "trial_verdict", "trial_decision", "change",
           "fair_before", "fair_after")
OUTCOME_CODES = ("kept", "dropped", "improve", "better", "worse", "same", "pending", "none")


def as_table(rows, lang):
    """The register with its outcomes, for the committee's minutes (CSV/XLSX; cells stay text)."""
    def local_day(utc):
        return clock().to_local(utc).date() if utc else None

    table = []
    for r in rows:
        s, o = r["s"], r["outcome"]
        trial, compare = o["trial"] or {}, o["compare"] or {}
        before, after = compare.get("before") or {}, compare.get("after") or {}
        change = o["change"]
        table.append([
            s.id, local_day(s.created_at), s.raised_on, str(SUGGESTION_VENUES.get(s.venue, s.venue)),
            str(SUGGESTION_KINDS.get(s.kind, s.kind)), s.dish.name(lang) if s.dish_id else "", s.text, s.team,
            r["teams"], len(r["teams"]) - 1, s.person, str(SUGGESTION_STATUS.get(s.status, s.status)),
            r["overdue"], s.plan, s.due, s.reason, local_day(s.answered_at), local_day(s.done_at), o["result"],
            trial.get("dish"), trial.get("votes"), trial.get("fair"), trial.get("verdict"),
            trial["decision"].decision if trial.get("decision") else None,
            f"{change.day} {change.dish.name(lang)} {CHANGE_KIND_NAMES.get(change.kind, change.kind)}" if change else None,
            before.get("fair"), after.get("fair")])
    return table


def dish_choices(lang):
    return [(d.id, d.name(lang)) for d in Dish.select().order_by(Dish.active.desc(), Dish.name_zh)]


def link_choices(lang):
    trials = [(d.id, f"{d.name(lang)} ({d.trial_start})")
              for d in Dish.select().where(Dish.trial_start.is_null(False)).order_by(Dish.trial_start.desc())]
    changes = [(c.id, f"{c.day} {c.dish.name(lang)}: {CHANGE_KIND_NAMES.get(c.kind, c.kind)}")
               for c in DishChange.select(DishChange, Dish).join(Dish).order_by(DishChange.day.desc()).limit(200)]
    return trials, changes


@bp.get("/suggestions")
@allow("union", "manager", "admin")
def suggestions(form=None, status=200):
    """The representatives' suggestions and the canteen's answers (?format=csv|xlsx: with outcomes)."""
    lang = current_language()
    today = clock().today()
    rows = register_rows(today, lang)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        return table_response(f"suggestions-{today}", [("suggestions", COLUMNS, as_table(rows, lang))], fmt)
    can_write = bool(current_roles() & {"union"})
    if can_write and form is None:
        form = SuggestionForm(formdata=None, dishes=dish_choices(lang), raised_on=today)
    return render_template("reports/suggestions.html", rows=rows, form=form, can_write=can_write,
                           counts=counts(), lang=lang), status


@bp.post("/suggestions")
@allow("union")
def record_suggestion():
    """Record a suggestion raised by the workers' representatives."""
    lang = current_language()
    form = SuggestionForm(dishes=dish_choices(lang))
    if not form.validate_on_submit():
        return suggestions(form=form, status=422)
    who = actor()
    with write_transaction():
        audit.lock_chain()  # the same form sent twice waits here, then finds the first one
        first = recorded_once(form.once.data)
        if first is not None and (first.text, first.team) == (form.text.data, form.team.data):
            return redirect(url_for("reports.suggestion", suggestion_id=first.id))
        s = Suggestion.create(kind=form.kind.data, text=form.text.data, dish=form.dish.data or None,
                              team=form.team.data, person=form.person.data or "", venue=form.venue.data,
                              raised_on=form.raised_on.data, author=who)
        rows = [s, SuggestionStep.create(suggestion=s, step="recorded", author=who)]
        rows += [SuggestionBacker.create(suggestion=s, team=t, author=who) for t in form.backer_teams()]
        audit.record(who, "suggestion.record", "suggestion", s.id, rows=rows, kind=s.kind, team=s.team,
                     backers=form.backer_teams(), once=form.once.data)
    flash(_("Suggestion recorded."))
    return redirect(url_for("reports.suggestion", suggestion_id=s.id))


def recorded_once(token):
    """The suggestion a form with this one-time token recorded (today), or None. (The caller
    compares what it says: a page brought back with the browser's Back button and filled in
    anew keeps its token, and is another suggestion.)"""
    entry = token and audit.recorded_once("suggestion.record", "once", token, utcnow() - dt.timedelta(days=1))
    return Suggestion.get_or_none(Suggestion.id == int(entry.entity_id)) if entry else None


def suggestion_page(s, forms=None, status=200):
    lang = current_language()
    today = clock().today()
    roles = current_roles()
    forms = forms or {}
    trials, changes = link_choices(lang)
    forms.setdefault("backer", BackerForm(formdata=None))
    answers = allowed_answers(s.status)
    if "answer" in forms:  # sent back with an error: it offers what the status allows now
        forms["answer"].offer(answers)
    else:
        forms["answer"] = AnswerForm(formdata=None, answers=answers, plan=s.plan, due=s.due,
                                     answer="done" if s.status == "accepted" else answers[0] if answers else None)
    forms.setdefault("link", LinkForm(formdata=None, trial_dishes=trials, changes=changes,
                                      trial_dish=s.trial_dish_id or 0, change=s.change_id or 0))
    steps = list(s.steps.order_by(SuggestionStep.at, SuggestionStep.id))
    return render_template("reports/suggestion.html", s=s, teams=s.teams(), steps=steps,
                           outcome=outcome(s, today, lang), forms=forms, lang=lang,
                           can_back="union" in roles and s.status in OPEN,
                           can_answer="manager" in roles and bool(answers),
                           can_link="manager" in roles and (s.status in ("accepted", "done") or forms["link"].errors),
                           overdue=s.status == "open" and s.created_at < overdue_before()), status


@bp.get("/suggestions/<int:suggestion_id>")
@allow("union", "manager", "admin")
def suggestion(suggestion_id):
    """One suggestion: who asked, every dated step, and what it produced."""
    return suggestion_page(Suggestion.get_or_none(Suggestion.id == suggestion_id) or abort(404))


@bp.post("/suggestions/<int:suggestion_id>/backers")
@allow("union")
def back_suggestion(suggestion_id):
    """Another team backs the suggestion (each team once)."""
    s = Suggestion.get_or_none(Suggestion.id == suggestion_id) or abort(404)
    form = BackerForm()
    if not form.validate_on_submit():
        return suggestion_page(s, {"backer": form}, 422)
    if form.team.data in s.teams():
        form.team.errors.append(_("This team is already counted."))
    elif s.status not in OPEN:
        form.team.errors.append(_("This suggestion is closed."))
    else:
        who = actor()
        try:
            with write_transaction():
                backer = SuggestionBacker.create(suggestion=s, team=form.team.data, author=who)
                step = SuggestionStep.create(suggestion=s, step="backed", note=form.team.data, author=who)
                audit.record(who, "suggestion.back", "suggestion", s.id, rows=[backer, step], team=backer.team)
        except IntegrityError:  # the same team sent twice at once (a double tap): counted once
            form.team.errors.append(_("This team is already counted."))
        else:
            flash(_("%(team)s backs the suggestion.", team=backer.team))
            return redirect(url_for("reports.suggestion", suggestion_id=s.id))
    return suggestion_page(s, {"backer": form}, 409)


# --- answering: which answer may follow which -----------------------------------------------

# The answers the canteen may give from each status (the one place this is decided; the page
# offers only these). Accepted again: a plan revised. Accepted, then declined: the plan fell
# through and the representatives read why. Declined is taken up again only by accepting it
# (with what and by when), never marked done behind the committee's back. Done is final.
TRANSITIONS = {"open": ("accepted", "declined", "done"), "accepted": ("accepted", "declined", "done"),
               "declined": ("accepted",), "done": ()}
REFUSED = {"declined": _l("This suggestion was declined: it can only be accepted again, with what will be "
                          "done and by when."),
           "done": _l("This suggestion is done already.")}


def allowed_answers(status):
    return TRANSITIONS.get(status, ())


class Refused(Exception):
    """An answer the rules refuse: `status` 409 (not from this status) or 422 (missing what it needs)."""

    def __init__(self, field, message, status):
        super().__init__(str(message))
        self.field, self.message, self.status = field, message, status


def give_answer(suggestion_id, answer, who, plan="", due=None, reason=""):
    """Record the canteen's answer if the suggestion's current status allows it (read under the
    write lock, so two answers at once are judged one after the other); the same answer sent
    twice is one step. Returns the suggestion; raises Refused."""
    note = {"accepted": plan, "declined": reason, "done": plan}[answer] or ""
    now = utcnow()
    with write_transaction():
        audit.lock_chain()  # the same answer sent twice (a double tap) waits here, then reads it
        s = Suggestion.get_by_id(suggestion_id)
        last = s.steps.order_by(SuggestionStep.id.desc()).first()
        again = (s.status == answer and last is not None and (last.step, last.note) == (answer, note)
                 and (answer != "accepted" or s.due == due))
        if again and answer != "done":
            return s
        if answer not in allowed_answers(s.status):
            raise Refused("answer", REFUSED.get(s.status, _l("This answer is not possible now.")), 409)
        if answer == "done" and s.status == "open" and not plan:  # done straight away: say what
            raise Refused("plan", _l("Say what was done."), 422)
        s.status = answer
        s.answered_at = s.answered_at or now
        if answer == "accepted":  # a declined one taken up again: its old reason stays in the steps
            s.plan, s.due, s.reason = plan, due, ""
        elif answer == "declined":
            s.reason = reason
        else:
            s.done_at = now
            s.plan = plan or s.plan
        s.save()
        step = SuggestionStep.create(suggestion=s, step=answer, note=note, author=who, at=now)
        audit.record(who, f"suggestion.{answer}", "suggestion", s.id, rows=[s, step], note=note,
                     due=s.due if answer == "accepted" else None)
    return s


@bp.post("/suggestions/<int:suggestion_id>/answer")
@allow("manager")
def answer_suggestion(suggestion_id):
    """The canteen's answer: accept (what, by when), decline (why), or mark as done."""
    s = Suggestion.get_or_none(Suggestion.id == suggestion_id) or abort(404)
    form = AnswerForm()
    if not form.validate_on_submit():
        return suggestion_page(s, {"answer": form}, 422)
    try:
        s = give_answer(s.id, form.answer.data, actor(), plan=form.plan.data or "", due=form.due.data,
                        reason=form.reason.data or "")
    except Refused as e:
        form[e.field].errors = [*form[e.field].errors, str(e.message)]
        return suggestion_page(Suggestion.get_by_id(s.id), {"answer": form}, e.status)
    flash(_("Answer recorded: %(status)s.", status=SUGGESTION_STATUS[s.status]))
    return redirect(url_for("reports.suggestion", suggestion_id=s.id))


@bp.post("/suggestions/<int:suggestion_id>/link")
@allow("manager")
def link_suggestion(suggestion_id):
    """Link an accepted suggestion to the dish it put on trial or the change it made."""
    s = Suggestion.get_or_none(Suggestion.id == suggestion_id) or abort(404)
    trials, changes = link_choices(current_language())
    form = LinkForm(trial_dishes=trials, changes=changes)
    if not form.validate_on_submit():
        return suggestion_page(s, {"link": form}, 422)
    if s.status not in ("accepted", "done"):
        form.trial_dish.errors.append(_("Accept the suggestion first."))
        return suggestion_page(s, {"link": form}, 409)
    who = actor()
    with database.atomic():
        s.trial_dish, s.change = form.trial_dish.data or None, form.change.data or None
        s.save()
        what = f"trial:{s.trial_dish_id}" if s.trial_dish_id else f"change:{s.change_id}"
        step = SuggestionStep.create(suggestion=s, step="linked", note=what, author=who)
        audit.record(who, "suggestion.link", "suggestion", s.id, rows=[s, step], linked=what)
    flash(_("Linked."))
    return redirect(url_for("reports.suggestion", suggestion_id=s.id))


# --- the weekly report and the scheduler ----------------------------------------------------

def _plain(s, today, lang, decided_before):
    o = outcome(s, today, lang, decided_before)
    trial = o["trial"]
    after = (o["compare"] or {}).get("after") or {}
    before = (o["compare"] or {}).get("before") or {}
    produced = Dish.get_by_id(s.trial_dish_id) if s.trial_dish_id else o["change"].dish if o["change"] else None
    return {"id": s.id, "kind": s.kind, "text": s.text, "teams": s.teams(), "venue": s.venue,
            "produced": produced and {"name_zh": produced.name_zh, "name_en": produced.name_en,
                                      "change": o["change"].kind if o["change"] else None},
            "raised_on": s.raised_on, "status": s.status, "plan": s.plan, "due": s.due, "reason": s.reason,
            "outcome": o["result"],
            "trial": trial and {"votes": trial["votes"], "fair": trial["fair"], "verdict": trial["verdict"]},
            "fair_before": before.get("fair"), "fair_after": after.get("fair")}


def weekly_section(monday, sunday, start_utc, end_utc):
    """The weekly report's section: suggestions recorded, answered and done that week, and the
    ones overdue at its end — plain JSON values (a stored digest renders the same later)."""
    today = min(sunday, clock().today())
    lang = "zh_CN"
    recorded = Suggestion.created_at.between(start_utc, end_utc - dt.timedelta(microseconds=1))
    answered_ids = {st.suggestion_id for st in SuggestionStep.select(SuggestionStep.suggestion).where(
        SuggestionStep.step.in_(("accepted", "declined", "done"))
        & (SuggestionStep.at >= start_utc) & (SuggestionStep.at < end_utc))}
    late = end_utc - dt.timedelta(days=answer_days())
    overdue_rows = Suggestion.select().where((Suggestion.created_at < late) & (
        Suggestion.answered_at.is_null() | (Suggestion.answered_at >= end_utc)))
    done = Suggestion.select().where((Suggestion.done_at >= start_utc) & (Suggestion.done_at < end_utc))

    def plain(query):
        return [_plain(s, today, lang, end_utc) for s in query.order_by(Suggestion.id)]

    out = {"new": plain(Suggestion.select().where(recorded)),
           "answered": plain(Suggestion.select().where(Suggestion.id.in_(answered_ids))) if answered_ids else [],
           "overdue": plain(overdue_rows), "done": plain(done), "days": answer_days()}
    out["open"] = Suggestion.select().where(Suggestion.status.in_(OPEN) & (Suggestion.created_at < end_utc)).count()
    return out


WEEKLY_COLUMNS = ("group", "id", "raised_on", "kind", "suggestion", "teams", "status", "plan", "due", "reason",
                  "outcome", "trial_votes", "trial_fair", "trial_verdict", "fair_before", "fair_after")


def weekly_table(section):
    """The section as one sheet of the weekly XLSX."""
    rows = []
    for group in ("new", "answered", "overdue", "done"):
        for r in section.get(group, []):
            trial = r.get("trial") or {}
            rows.append([group, r["id"], r["raised_on"], str(SUGGESTION_KINDS.get(r["kind"], r["kind"])), r["text"],
                         r["teams"], str(SUGGESTION_STATUS.get(r["status"], r["status"])), r["plan"], r["due"],
                         r["reason"], r["outcome"], trial.get("votes"), trial.get("fair"), trial.get("verdict"),
                         r["fair_before"], r["fair_after"]])
    return ("suggestions", WEEKLY_COLUMNS, rows)


def overdue_alerts(now):
    """One alert for the manager per suggestion left unanswered past SUGGESTION_ANSWER_DAYS."""
    raised = 0
    from ..jobs.tasks import raise_alert

    days = answer_days()
    for s in overdue(clock().local_to_utc(now)):
        recorded = clock().to_local(s.created_at).date()
        raised += raise_alert(f"suggestion:{s.id}", "suggestion_overdue", "manager",
                              f"职工代表建议 #{s.id}（{s.team}）已 {days} 天未答复（{recorded} 登记）",
                              f"Representatives' suggestion #{s.id} ({s.team}) unanswered for {days} days "
                              f"(recorded {recorded})")
    return raised
