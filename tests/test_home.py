"""The home page per role: seeded data gives exact numbers, each linking to its page."""
import datetime as dt
import re

import pytest

from canteen.clock import clock
from canteen.feedback.models import CommentFollowUp, Rating
from canteen.jobs.models import Alert, ExpectedLog, JobRun
from canteen.models import database, utcnow
from canteen.office.accounts import Kiosk
from canteen.safety.models import CorrectiveAction, SafetyRecord

from .conftest import add_dish, make_user, signed_in

WEDNESDAY = dt.datetime(2026, 11, 25, 15, 0)  # local; the week began on Monday 23rd
TILE = re.compile(r'href="([^"]*)" data-tile="(\w+)">\s*<span class="tile-title">[^<]*</span>\s*'
                  r'<strong class="tile-value">([^<]*)</strong>\s*<span class="tile-note">([^<]*)</span>')


def tiles(client):
    page = client.get("/office/")
    assert page.status_code == 200
    return {key: (value, note, href.replace("&amp;", "&"))
            for href, key, value, note in TILE.findall(page.get_data(as_text=True))}


@pytest.fixture
def seeded(app, staff):
    """A Wednesday afternoon in a canteen with a little of everything."""
    app.extensions["canteen_clock"].frozen = WEDNESDAY

    def build():
        day = WEDNESDAY.date()
        pork = add_dish("红烧肉", "Braised pork", 1200)
        n = 0

        def votes(on, scores, **extra):
            nonlocal n
            for score in scores:
                n += 1
                Rating.create(dish=pork, score=score, channel="kiosk", client_id=f"home-{n:05d}", day=on,
                              meal="lunch", voted_at=dt.datetime.combine(on, dt.time(4)), **extra)
        votes(day, [5] * 6 + [4] * 3 + [1] * 3)  # today 12 votes, 9 good: 75%
        votes(day, [1, 1], flag="burst")  # kept out of every count
        votes(dt.date(2026, 11, 23), [5] * 4 + [2] * 4)  # this week 20, 13 good: 65%
        votes(dt.date(2026, 11, 17), [4] * 5 + [3] * 5)  # the same days last week: 10, 5 good: 50%
        votes(dt.date(2026, 11, 19), [1] * 6)  # Thursday last week: not the same days
        for on, handled in ((day, False), (dt.date(2026, 11, 24), True), (dt.date(2026, 11, 20), False)):
            n += 1
            rating = Rating.create(dish=pork, score=3, channel="phone", client_id=f"home-{n:05d}", day=on,
                                   meal="lunch", comment="太咸", flag="comment-only")
            if handled:
                CommentFollowUp.create(rating=rating, handled_at=utcnow(), handled_by="user:manager")
        for name, start, end in (("豆角", "2026-11-10", "2026-11-26"), ("凉皮", "2026-11-01", "2026-11-20"),
                                 ("羊汤", "2026-11-20", "2026-12-20")):
            dish = add_dish(name, name, 800)
            dish.trial_start, dish.trial_end = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
            dish.save()
        ExpectedLog.create(kind="storage", times="08:00,14:00,18:00", grace_minutes=30)
        at = clock().local_to_utc(dt.datetime.combine(day, dt.time(8, 5)))
        SafetyRecord.create(kind="storage", data="{}", current="{}", occurred_at=at, author="user:manager", day=day)
        for severity, status in (("critical", "open"), ("major", "acknowledged"), ("minor", "verified")):
            CorrectiveAction.create(item="COOK-01", d="cleaning", severity=severity, owner="manager",
                                    finding='[{"item": "COOK-01", "message_zh": "中心温度不足", "message_en": "core too cool"}]',
                                    status=status, due_at=utcnow() + dt.timedelta(hours=24))
        for key, role, resolved in (("a", "manager", None), ("b", "manager", utcnow()), ("c", "union", None)):
            Alert.create(key=key, kind="missed_log", role=role, message_zh="x", message_en="x", resolved_at=resolved)
        for name, seen, revoked in (("door", dt.timedelta(minutes=5), None), ("hall", dt.timedelta(hours=3), None),
                                    ("old", dt.timedelta(minutes=1), utcnow())):
            Kiosk.create(name=name, device_hash=name * 8, last_seen_at=utcnow() - seen, revoked_at=revoked)
        make_user("gone", "union", active=False)
        JobRun.create(job="backup", slot="x", started_at=utcnow() - dt.timedelta(hours=3),
                      finished_at=utcnow() - dt.timedelta(hours=3), outcome="ok")
        return clock().to_local(utcnow() - dt.timedelta(hours=3)).strftime("%m-%d %H:%M")
    with app.app_context(), database.connection_context():
        backup_shown = build()
    yield backup_shown
    app.extensions["canteen_clock"].frozen = None


def test_the_manager_sees_today(app, seeded):
    got = tiles(signed_in(app, "manager"))
    assert list(got) == ["alerts", "logs", "actions", "votes_today"]
    assert got["alerts"] == ("1", "open for you", "/alerts")
    assert got["logs"] == ("1 / 3", "1 missing", "/safety/")
    assert got["actions"] == ("2", "critical 1 · major 1 · minor 0", "/safety/actions")
    assert got["votes_today"] == ("12", "good share 75%", "/reports/scoreboard?from=2026-11-25&to=2026-11-25")


def test_the_union_sees_the_week(app, seeded):
    got = tiles(signed_in(app, "union"))
    assert list(got) == ["alerts", "votes_week", "good_share_week", "trials", "comments", "suggestions"]
    assert got["alerts"][0] == "1"
    assert got["votes_week"] == ("20", "10 the same days last week", "/reports/trends?from=2026-11-23&to=2026-11-25")
    assert got["good_share_week"] == ("65%", "+15 points vs the same days last week", "/reports/weekly")
    assert got["trials"][:2] == ("2", "ending within 3 days or waiting for a decision")
    assert got["trials"][2] == "/reports/trials"
    assert got["comments"] == ("1", "not yet handled", "/reports/comments?status=open&from=2026-11-23&to=2026-11-25")
    assert got["suggestions"] == ("0", "none waiting past 14 days", "/reports/suggestions")


def test_the_admin_sees_kiosks_accounts_and_backups(app, seeded):
    got = tiles(signed_in(app, "admin"))
    assert list(got) == ["alerts", "kiosks", "accounts", "backups"]
    assert got["kiosks"] == ("2", "1 not seen for over an hour", "/admin/kiosks")
    assert got["accounts"] == ("4", "1 disabled", "/admin/users")
    assert got["backups"] == (seeded, "last backup", "/admin/jobs")


def test_two_roles_see_both_sets_once(app, seeded):
    assert list(tiles(signed_in(app, "chef"))) == ["alerts", "logs", "actions", "votes_today", "votes_week",
                                                  "good_share_week", "trials", "comments", "suggestions"]


def test_every_tile_links_to_a_page_the_reader_may_open(app, seeded):
    for who in ("manager", "union", "admin", "chef"):
        client = signed_in(app, who)
        for key, (_value, _note, href) in tiles(client).items():
            assert client.get(href).status_code == 200, (who, key, href)


def test_an_empty_canteen_says_so_in_chinese(app, staff):
    got = tiles(signed_in(app, "chef", lang="zh"))
    assert got["votes_today"][0] == "0" and got["good_share_week"][0] == "—"
    assert got["logs"][0] == "0 / 0"
