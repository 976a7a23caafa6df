"""Digests, stored as pages: a daily food-safety one for the manager and a weekly feedback one
for the union representatives."""
import datetime as dt
import json

from peewee import CharField, DateTimeField, TextField, fn

from .models import BaseModel, Dish, Rating, utcnow


class Digest(BaseModel):
    kind = CharField(max_length=8)  # daily | weekly
    period = CharField(max_length=20)  # 2026-11-26 | 2026-W48
    body = TextField()  # JSON
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("kind", "period"), True),)

    def data(self):
        return json.loads(self.body)


def _store(kind, period, body):
    (Digest.insert(kind=kind, period=period, body=json.dumps(body, ensure_ascii=False, default=str),
                   created_at=utcnow()).on_conflict_ignore().execute())
    return period


def daily(now):
    """Yesterday's food safety: entries per log, failures, open and overdue actions, gaps."""
    from .safety.models import CorrectiveAction, SafetyRecord, SafetyVerdict
    from .safety.views import missing_on

    day = now.date() - dt.timedelta(days=1)
    counts = {k: n for k, n in SafetyRecord.select(SafetyRecord.kind, fn.COUNT(SafetyRecord.id))
              .where(SafetyRecord.day == day).group_by(SafetyRecord.kind).tuples()}
    failed = (SafetyVerdict.select().join(SafetyRecord)
              .where((SafetyRecord.day == day) & (SafetyVerdict.verdict == "fail")).count())
    open_actions = CorrectiveAction.select().where(CorrectiveAction.status != "verified")
    return _store("daily", day.isoformat(), {
        "day": day, "entries": counts, "failed": failed,
        "open_actions": open_actions.count(),
        "overdue_actions": open_actions.where(CorrectiveAction.due_at < utcnow()).count(),
        "missing": [str(m) for m in missing_on(day)],
    })


def weekly(now):
    """Last week's votes: counts, best and worst dishes (at least 5 votes), trial dishes,
    comments; flagged and replaced votes left out and counted."""
    monday = now.date() - dt.timedelta(days=now.weekday() + 7)
    sunday = monday + dt.timedelta(days=6)
    week = Rating.counted().where(Rating.day.between(monday, sunday))
    rows = (week.select(Rating.dish, fn.COUNT(Rating.id).alias("n"), fn.AVG(Rating.score).alias("mean"))
            .group_by(Rating.dish))
    dishes = {d.id: d for d in Dish.select()}
    scored = sorted(({"dish": dishes[r.dish_id].name_zh, "dish_en": dishes[r.dish_id].name_en, "votes": r.n,
                      "mean": round(float(r.mean), 2), "trial": dishes[r.dish_id].trial_start is not None}
                     for r in rows if r.dish_id in dishes), key=lambda d: -d["mean"])
    enough = [d for d in scored if d["votes"] >= 5]
    comments = [c for (c,) in Rating.select(Rating.comment).where(
        Rating.day.between(monday, sunday) & Rating.comment.is_null(False)).order_by(Rating.id.desc())
        .limit(30).tuples()]
    everything = Rating.select().where(Rating.day.between(monday, sunday))
    return _store("weekly", "%d-W%02d" % monday.isocalendar()[:2], {
        "from": monday, "to": sunday, "votes": week.count(),
        "left_out": {"flagged": everything.where(Rating.flag.is_null(False)).count(),
                     "replaced": everything.where(Rating.replaced_by.is_null(False) & Rating.flag.is_null()).count()},
        "best": enough[:3], "worst": enough[-3:][::-1] if len(enough) > 3 else [],
        "trial": [d for d in scored if d["trial"]], "comments": comments,
    })
