"""The weekly report a union representative takes to the canteen committee: printable, and
exactly what the scheduler's weekly digest stores and sends (`weekly_report`)."""
import datetime as dt

from flask import current_app, render_template, request
from flask_babel import gettext as _
from peewee import JOIN

from .. import charts
from ..access import allow
from ..clock import clock
from ..feedback.models import CommentFollowUp, DishChange, Rating, TrialDecision
from ..i18n import current_language
from ..models import Dish
from ..vocabulary import MEALS, REASONS, SHIFT_NAMES
from .blueprint import bp
from .export import table_response
from .figures import by_week, dish_rows, hidden_groups, stats, sums_by
from .filters import Filters, iso_week
from .scoring import suppressed
from .suggestions import weekly_section, weekly_table
from .trials import trial_row

TREND_WEEKS = 8
LATEST_COMMENTS = 12


def monday_of(week):
    """"2026-W47" → the Monday of that ISO week; ValueError if it is not one."""
    year, _sep, number = week.partition("-W")
    return dt.date.fromisocalendar(int(year), int(number), 1)


def _names(dish):
    return {"id": dish.id, "name_zh": dish.name_zh, "name_en": dish.name_en}


def _group_rows(filters, dim, prior):
    groups = sums_by(filters, dim)
    hide = hidden_groups({key: sums.n for key, sums in groups.items()})
    return [{"code": key[0], **stats(sums, prior, key in hide)}
            for key, sums in sorted(groups.items(), key=lambda kv: -kv[1].n) if sums.n]


def weekly_report(monday):
    """Everything the weekly report shows for the ISO week starting `monday`, as plain JSON
    values with both languages' names, so a stored digest renders the same page later."""
    sunday = monday + dt.timedelta(days=6)
    week = Filters(monday, sunday)
    week_start_utc = clock().local_to_utc(dt.datetime.combine(monday, dt.time()))
    week_end_utc = clock().local_to_utc(dt.datetime.combine(sunday + dt.timedelta(days=1), dt.time()))
    rows, overall, prior, per_tag = dish_rows(week)
    shown_dishes = [{**_names(r["dish"]), "price": r["dish"].price_fen / 100,
                     **{k_: v for k_, v in r.items() if k_ != "dish"}} for r in rows]
    dishes = {d.id: d for d in Dish.select()}
    first_trend = monday - dt.timedelta(weeks=TREND_WEEKS - 1)
    trend_weeks = [iso_week(first_trend + dt.timedelta(weeks=i)) for i in range(TREND_WEEKS)]
    k = current_app.config["REPORT_MIN_GROUP"]
    per_meal_week = by_week(sums_by(Filters(first_trend, sunday), "day", "meal"))
    trend = {meal: [round(s.mean, 2) if (s := per_meal_week.get((w, meal))) and s.n >= k else None
                    for w in trend_weeks] for meal in MEALS}
    today = clock().today()
    trials = []
    for dish in Dish.select().where(Dish.trial_start.is_null(False) & (Dish.trial_start <= sunday)):
        row = trial_row(dish, min(sunday, today), "zh_CN", decided_before=week_end_utc)
        if row["end"] >= monday - dt.timedelta(days=28):  # running, or ended in the last four weeks
            decision = row.pop("decision")
            trials.append({**_names(dish), **{k_: row[k_] for k_ in (
                "start", "end", "running", "votes", "suppressed", "mean", "fair", "prior", "good_share",
                "good_interval", "verdict")},
                "decision": decision and decision.decision, "decision_note": decision and decision.note})
    comments = (Rating.select(Rating, CommentFollowUp).join(CommentFollowUp, JOIN.LEFT_OUTER)
                .where(Rating.comment.is_null(False) & Rating.day.between(monday, sunday)))
    latest = []
    safety = handled = 0
    for r in comments.order_by(Rating.id.desc()):
        f = getattr(r, "commentfollowup", None)
        safety += bool(f and f.safety)
        handled += bool(f and f.handled_at)
        if len(latest) < LATEST_COMMENTS and r.dish_id in dishes:
            latest.append({"id": r.id, "day": r.day, "meal": r.meal, **{k_: v for k_, v in _names(dishes[r.dish_id]).items()
                                                                         if k_ != "id"},
                           "score": r.score, "text": r.comment, "safety": bool(f and f.safety),
                           "counted": r.flag is None and r.replaced_by is None,
                           "reply": f and f.reply, "handled": bool(f and f.handled_at)})
    changes = [{**_names(c.dish), "day": c.day, "kind": c.kind, "note": c.note}
               for c in DishChange.select(DishChange, Dish).join(Dish)
               .where(DishChange.day.between(monday, sunday)).order_by(DishChange.day)]
    decisions = [{**_names(d.dish), "decision": d.decision, "suggested": d.suggested, "note": d.note}
                 for d in TrialDecision.select(TrialDecision, Dish).join(Dish)
                 .where((TrialDecision.decided_at >= week_start_utc) & (TrialDecision.decided_at < week_end_utc))
                 .order_by(TrialDecision.decided_at)]
    return {
        "week": iso_week(monday), "from": monday, "to": sunday, "votes": overall.n,
        "left_out": {"flagged": overall.flagged, "replaced": overall.replaced},
        "prior": None if suppressed(overall.n, k) else round(prior, 2), "prior_weight": current_app.config["REPORT_PRIOR_WEIGHT"], "min_group": k,
        "dishes": shown_dishes,
        "meals": _group_rows(week, "meal", prior), "shifts": _group_rows(week, "shift", prior),
        "places": _group_rows(week, "place", prior),
        "trend": {"weeks": trend_weeks, "meals": trend},
        "trials": trials,
        "reasons": [{"code": t, "n": n} for t, n in sorted(
            _sum_tags(per_tag).items(), key=lambda kv: -kv[1])] if not suppressed(overall.n, k) else [],
        "comments": {"total": comments.count(), "safety": safety, "handled": handled, "latest": latest},
        "changes": changes, "decisions": decisions,
        "suggestions": weekly_section(monday, sunday, week_start_utc, week_end_utc),
    }


def _sum_tags(per_dish):
    out = {}
    for (_dish, tag), n in per_dish.items():
        out[tag] = out.get(tag, 0) + n
    return out


def weekly_chart(data, lang):
    """The report's chart, drawn from its stored data."""
    series = [(str(MEALS[m]), values) for m, values in data["trend"]["meals"].items()
              if any(v is not None for v in values)]
    if not series:
        return None
    return charts.line_chart(_("Mean score per week, per meal"), [w[5:] for w in data["trend"]["weeks"]], series)


def group_label(kind, code):
    if kind == "meal":
        return str(MEALS.get(code, code))
    if kind == "shift":
        return str(SHIFT_NAMES.get(code, code)) if code else _("no shift")
    return code or _("unknown place")


def reason_names(codes):
    """A dish's top reasons as the reader says them (the scoreboard's export does the same)."""
    return None if codes is None else [str(REASONS.get(code, code)) for code in codes]


def as_tables(data, lang):
    """The report's tables for CSV/XLSX."""
    name = "name_en" if lang == "en" else "name_zh"
    stat = ("votes", "mean", "fair", "good_share", "good_interval")
    return [
        ("dishes", ("dish", "price") + stat + ("faces", "reasons"),
         [[d[name], d["price"]] + [d[k] for k in stat] + [d["faces"], reason_names(d["reasons"])]
          for d in data["dishes"]]),
        ("meals", ("meal",) + stat, [[group_label("meal", g["code"])] + [g[k] for k in stat] for g in data["meals"]]),
        ("shifts", ("shift",) + stat, [[group_label("shift", g["code"])] + [g[k] for k in stat] for g in data["shifts"]]),
        ("places", ("place",) + stat, [[group_label("place", g["code"])] + [g[k] for k in stat] for g in data["places"]]),
        ("trials", ("dish", "start", "end", "votes", "fair", "good_share", "good_interval", "verdict", "decision"),
         [[t[name], t["start"], t["end"], t["votes"], t["fair"], t["good_share"], t["good_interval"], t["verdict"],
           t["decision"]] for t in data["trials"]]),
        ("reasons", ("reason", "count"), [[str(REASONS.get(r["code"], r["code"])), r["n"]] for r in data["reasons"]]),
        ("comments", ("day", "meal", "dish", "score", "comment", "safety", "reply", "handled"),
         [[c["day"], group_label("meal", c["meal"]), c[name], c["score"], c["text"], c["safety"], c["reply"],
           c["handled"]] for c in data["comments"]["latest"]]),
    ] + ([weekly_table(data["suggestions"])] if data.get("suggestions") else [])


@bp.get("/weekly")
@allow("union", "manager", "admin")
def weekly():
    """The printable weekly report (?week=2026-W47; default: last week). ?format=xlsx|csv."""
    today = clock().today()
    default = today - dt.timedelta(days=today.weekday() + 7)
    error = None
    try:
        monday = monday_of(request.args["week"]) if request.args.get("week") else default
        if not 2000 <= monday.year <= 2100:
            raise ValueError
    except ValueError:
        monday, error = default, _("Not a week: write it as 2026-W47.")
    lang = current_language()
    data = weekly_report(monday)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx") and not error:
        return table_response(f"weekly-{data['week']}", as_tables(data, lang), fmt)
    weeks = [iso_week(monday + dt.timedelta(weeks=i)) for i in (-1, 1)]
    return render_template("reports/weekly.html", data=data, chart=weekly_chart(data, lang), lang=lang,
                           error=error, previous=weeks[0], following=weeks[1] if monday + dt.timedelta(weeks=1) <= today else None,
                           group_label=group_label), 400 if error else 200


def email_text(data):
    """The weekly report as plain text for e-mail, Chinese then English; the tables go along
    as an XLSX attachment (`as_tables`)."""
    def name(d):
        return f"{d['name_zh']} / {d['name_en']}"

    scored = [d for d in data["dishes"] if d["fair"] is not None]
    lines = [f"食堂评价周报 Weekly canteen feedback {data['week']} ({data['from']} – {data['to']})", "",
             f"计入评价 counted votes: {data['votes']}; 未计入 left out: {data['left_out']['flagged']} flagged, "
             f"{data['left_out']['replaced']} replaced",
             f"食堂平均分 canteen mean: {data['prior'] if data['prior'] is not None else '—'}", ""]
    for title, rows in (("最好 Best", scored[:3]), ("最差 Worst", scored[-3:][::-1] if len(scored) > 3 else [])):
        lines.append(f"{title}:")
        lines += [f"  {name(d)}: {d['fair']} ({d['votes']})" for d in rows] or ["  —"]
    lines.append("试吃新菜 New dishes on trial:")
    lines += [f"  {name(t)}: {t['verdict']}" + (f" → {t['decision']}" if t["decision"] else "")
              for t in data["trials"]] or ["  —"]
    c = data["comments"]
    sug = data.get("suggestions")
    if sug:
        lines.append(f"职工代表建议 representatives' suggestions: 新 new {len(sug['new'])}, 已答复 answered "
                     f"{len(sug['answered'])}, 超期 overdue {len(sug['overdue'])}, 已完成 done {len(sug['done'])}")
    lines += [f"留言 comments: {c['total']}, 食品安全 food safety: {c['safety']}, 已处理 handled: {c['handled']}", "",
              f"少于{data['min_group']}人的分组不显示。Groups of fewer than {data['min_group']} voters are not shown."]
    return "\n".join(lines)


def render_stored(data, lang):
    """A stored weekly digest, drawn with the weekly report's own template."""
    for key in ("from", "to"):
        data[key] = dt.date.fromisoformat(str(data[key]))
    return render_template("reports/weekly.html", data=data, chart=weekly_chart(data, lang), lang=lang,
                           error=None, previous=None, following=None, group_label=group_label, stored=True)

