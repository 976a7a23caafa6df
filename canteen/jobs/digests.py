"""Digests, stored as pages: a daily food-safety one for the manager and a weekly feedback one
for the union representatives."""
import datetime as dt
import json

from peewee import CharField, DateTimeField, TextField, fn

from .. import audit
from ..i18n import in_each_language
from ..models import BaseModel, utcnow
from ..reports.weekly import weekly_report
from ..safety.models import CorrectiveAction, SafetyRecord, SafetyVerdict
from ..safety.views import missing_on


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
        # in each language, so that the page reads in its reader's language
        "missing": in_each_language(lambda: [str(text) for _kind, text in missing_on(day)]),
        "audit_head": audit.signed_head(),  # an anchor of the audit chain outside the database
    })


def weekly(now):
    """Last week's feedback: the union's weekly report (canteen/reports/weekly.py), stored as
    it was, so the digest and the printed report say the same."""
    monday = now.date() - dt.timedelta(days=now.weekday() + 7)
    return _store("weekly", "%d-W%02d" % monday.isocalendar()[:2], weekly_report(monday))
