"""The signed-in home page: today's numbers for each role, each linking to its page, then
the shortcuts.

A tile is plain data (Tile); each role's numbers come from one function in TILES, so one
more tile is one more function (or one more Tile in a function). The numbers come from what
the reports and jobs already compute — vote rollups, the expected-log schedule, the alert
inbox — never from a scan of the votes.
"""
import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from peewee import JOIN, fn

from ..access import allow, current_roles
from ..clock import clock
from ..feedback.models import CommentFollowUp, Rating
from ..i18n import current_language
from ..jobs.models import JobRun
from ..jobs.tasks import expected_slots
from ..jobs.views import visible_alerts
from ..models import Dish, MenuItem, utcnow
from ..reports.figures import stats, total
from ..reports.filters import Filters
from ..reports.suggestions import counts as suggestion_counts
from ..reports.trials import trial_rows
from ..safety.models import CorrectiveAction
from ..vocabulary import MEALS, SEVERITY_NAMES
from .accounts import ROLES, Kiosk, User

bp = Blueprint("office", __name__, url_prefix="/office")

TRIAL_NEAR_DAYS = 3  # a running trial this close to its end is near its verdict
KIOSK_QUIET = dt.timedelta(hours=1)  # a paired kiosk silent this long during the day needs a look
BACKUP_STALE = dt.timedelta(hours=36)  # the nightly backup has been missed


class Moment(NamedTuple):
    today: dt.date
    local: dt.datetime  # the canteen's clock (schedules, meals)
    utc: dt.datetime  # stored times (kiosks, job runs)


@dataclass
class Tile:
    key: str  # stable name (tests, styles)
    title: str
    value: str  # the number, shown large
    note: str
    href: str
    warn: bool = False


def percent(share):
    return "—" if share is None else f"{round(share * 100)}%"


def good_share(sums):
    """The share of 4s and 5s as the reports show it (None under their minimum of votes); the
    prior passed only moves the fair score, which no tile shows."""
    return stats(sums, 3.0)["good_share"]


def logs_tile(now):
    slots = expected_slots(now)
    missing = sum(1 for _e, _d, state in slots if state == "missing")
    done = sum(1 for _e, _d, state in slots if state == "done")
    return Tile("logs", _("Logs today"), f"{done} / {len(slots)}",
                _("%(n)d missing", n=missing) if missing else _("nothing missing so far"),
                url_for("safety.today"), warn=bool(missing))


def actions_tile():
    counts = dict(CorrectiveAction.select(CorrectiveAction.severity, fn.COUNT(CorrectiveAction.id))
                  .where(CorrectiveAction.status != "verified")
                  .group_by(CorrectiveAction.severity).tuples())
    note = " · ".join(f"{SEVERITY_NAMES[s]} {counts.get(s, 0)}" for s in SEVERITY_NAMES)
    return Tile("actions", _("Open corrective actions"), str(sum(counts.values())), note,
                url_for("safety.actions"), warn=bool(counts.get("critical")))


def alerts_tile():
    count = visible_alerts().count()
    return Tile("alerts", _("Alerts"), str(count), _("open for you") if count else _("none open"),
                url_for("alerts.inbox"), warn=bool(count))


def votes_today_tile(today):
    sums = total(Filters(today, today))
    return Tile("votes_today", _("Votes today"), str(sums.n),
                _("good share %(share)s", share=percent(good_share(sums))),
                url_for("reports.scoreboard", **{"from": today.isoformat(), "to": today.isoformat()}))


def manager_tiles(at):
    return [logs_tile(at.local), actions_tile(), votes_today_tile(at.today)]


def week_tiles(today):
    monday = today - dt.timedelta(days=today.weekday())
    this = total(Filters(monday, today))
    before = total(Filters(monday - dt.timedelta(days=7), today - dt.timedelta(days=7)))  # the same days
    now_share, then_share = good_share(this), good_share(before)
    if now_share is None or then_share is None:
        change = _("no comparison with last week yet")
    else:
        points = round((now_share - then_share) * 100)
        change = _("%(points)+d points vs the same days last week", points=points)
    week = {"from": monday.isoformat(), "to": today.isoformat()}
    return [Tile("votes_week", _("Votes this week"), str(this.n),
                 _("%(n)d the same days last week", n=before.n), url_for("reports.trends", **week)),
            Tile("good_share_week", _("Good share this week"), percent(now_share), change,
                 url_for("reports.weekly"))]


def trials_tile(today):
    near = [row for row in trial_rows(today, current_language())
            if (row["running"] and (row["end"] - today).days < TRIAL_NEAR_DAYS)
            or (not row["running"] and row["decision"] is None)]
    return Tile("trials", _("Trials near their verdict"), str(len(near)),
                _("ending within %(n)d days or waiting for a decision", n=TRIAL_NEAR_DAYS),
                url_for("reports.trials"), warn=bool(near))


def comments_tile(today):
    monday = today - dt.timedelta(days=today.weekday())
    count = (Rating.select().join(CommentFollowUp, JOIN.LEFT_OUTER)
             .where(Rating.comment.is_null(False) & Rating.day.between(monday, today)
                    & CommentFollowUp.handled_at.is_null())
             .count())
    return Tile("comments", _("New comments this week"), str(count), _("not yet handled"),
                url_for("reports.comments", status="open", **{"from": monday.isoformat(), "to": today.isoformat()}))


def suggestions_tile():
    c = suggestion_counts()
    note = (_("%(n)d waiting for an answer over %(days)d days", n=c["overdue"], days=c["days"])
            if c["overdue"] else _("none waiting past %(days)d days", days=c["days"]))
    return Tile("suggestions", _("Representatives' suggestions open"), str(c["open"]), note,
                url_for("reports.suggestions"), warn=bool(c["overdue"]))


def union_tiles(at):
    return [*week_tiles(at.today), trials_tile(at.today), comments_tile(at.today), suggestions_tile()]


def kiosks_tile(now):
    paired = list(Kiosk.select().where(Kiosk.device_hash.is_null(False) & Kiosk.revoked_at.is_null()))
    quiet = [k for k in paired if k.last_seen_at is None or now - k.last_seen_at > KIOSK_QUIET]
    return Tile("kiosks", _("Kiosks"), str(len(paired)),
                _("%(n)d not seen for over an hour", n=len(quiet)) if quiet else _("all seen within the hour"),
                url_for("admin.kiosks"), warn=bool(quiet))


def accounts_tile():
    active = User.select().where(User.active).count()
    disabled = User.select().where(~User.active).count()
    return Tile("accounts", _("Accounts"), str(active), _("%(n)d disabled", n=disabled), url_for("admin.users"))


def backups_tile(now):
    last = (JobRun.select().where((JobRun.job == "backup") & (JobRun.outcome == "ok"))
            .order_by(JobRun.started_at.desc()).first())
    failed = (JobRun.select().where((JobRun.job == "backup") & (JobRun.outcome == "failed")
                                    & (JobRun.started_at > (last.started_at if last else dt.datetime.min)))
              .exists())
    if last is None:
        value, note = "—", _("no backup yet")
    else:
        value = clock().to_local(last.finished_at or last.started_at).strftime("%m-%d %H:%M")
        note = _("last backup")
    if failed:
        note = _("the last backup failed")
    stale = last is None or now - last.started_at > BACKUP_STALE
    return Tile("backups", _("Backups"), value, note, url_for("alerts.jobs_page"), warn=stale or failed)


def admin_tiles(at):
    return [kiosks_tile(at.utc), accounts_tile(), backups_tile(at.utc)]


# Numbers per role, in the order they appear; a user with several roles sees each set once.
TILES = {"manager": manager_tiles, "union": union_tiles, "admin": admin_tiles}


def tiles_for(roles, at):
    """The tiles of the numbers for a reader holding `roles`, at the Moment `at`."""
    tiles = [alerts_tile()] if roles else []
    for role, make in TILES.items():
        if role in roles:
            tiles += make(at)
    return tiles


@bp.get("/")
@allow(*ROLES)
def home():
    """Start page after sign-in: today's numbers for the user's roles, then shortcuts."""
    local = clock().now()
    today = local.date()
    unplanned = [str(MEALS[w.name]) for w in clock().windows
                 if not MenuItem.select().where((MenuItem.day == today) & (MenuItem.meal == w.name)).exists()]
    return render_template("office/home.html", roles=current_user.role_set, today=today,
                           tiles=tiles_for(current_roles(), Moment(today, local, utcnow())),
                           dish_count=Dish.select().where(Dish.active).count(), unplanned=unplanned)
