"""Scheduled work: each slot claimed once (two schedulers racing), missed-log alerts with a
fake clock, late entries closing them."""
import datetime as dt
import threading

from canteen.clock import clock
from canteen.jobs import tasks as jobs
from canteen.jobs.models import Alert, ExpectedLog, JobRun
from canteen.models import database
from canteen.safety import service
from canteen.safety.models import Staff, StorageUnit

from .conftest import csrf_token, signed_in


def in_db(app, fn):
    with app.app_context(), database.connection_context():
        return fn()


def test_two_schedulers_racing_for_a_slot_run_it_once(app):
    winners = []
    barrier = threading.Barrier(6)

    def scheduler():
        with app.app_context(), database.connection_context():
            barrier.wait()
            winners.append(jobs.claim("missed_logs", "2026-11-26T16:00"))

    threads = [threading.Thread(target=scheduler) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(winners) == [False] * 5 + [True]
    assert in_db(app, lambda: JobRun.select().count()) == 1


def unit_expected_at(app, times, kind="freezer", name="冷冻库"):
    """(staff id, unit id): a storage unit whose readings are expected at `times`, 30 min grace."""
    def setup():
        person = Staff.create(name="王师傅", health_cert_expiry=clock().today() + dt.timedelta(days=90))
        unit = StorageUnit.create(name=name, kind=kind, owner=person, checker=person)
        ExpectedLog.create(kind="storage", unit=unit.id, times=times, grace_minutes=30)
        return person.id, unit.id
    return in_db(app, setup)


def log_reading(app, unit, person, when, temperature):
    """A storage reading taken at local `when`, entered now; returns the record."""
    def create():
        with app.test_request_context():
            entry = {"unit": unit, "temperature": temperature, "off_floor_cm": 15, "off_wall_cm": 15,
                     "labels_ok": True, "fifo_ok": True, "raw_cooked_separated": True, "expired_found": 0,
                     "inspected_by": person, "occurred_at": when.isoformat()}
            return service.create("storage", entry, "user:manager")[0]
    return in_db(app, create)


def yesterday_at(app):
    yesterday = in_db(app, lambda: clock().today()) - dt.timedelta(days=1)
    return lambda hour, minute: dt.datetime.combine(yesterday, dt.time(hour, minute))


def test_a_forgotten_reading_raises_one_alert_and_a_late_one_closes_it(app):
    person, freezer = unit_expected_at(app, "08:00,16:00")
    at = yesterday_at(app)
    assert in_db(app, lambda: jobs.missed_logs(at(8, 29))) == (0, 0)  # still within the grace
    assert in_db(app, lambda: jobs.missed_logs(at(8, 30))) == (1, 0)  # due 08:00 + 30 min grace: at 08:30
    assert in_db(app, lambda: jobs.missed_logs(at(9, 0))) == (0, 0)  # raised once, not again
    assert in_db(app, lambda: jobs.missed_logs(at(16, 31))) == (1, 0)
    record = log_reading(app, freezer, person, at(16, 50), -18)
    assert record.late_by is not None  # entered for an earlier time
    raised, resolved = in_db(app, lambda: jobs.missed_logs(at(17, 0)))
    assert raised == 0 and resolved == 1
    alerts = in_db(app, lambda: {a.key.rsplit(":", 2)[-2][-2:]: a.resolved_at for a in Alert.select()})
    assert alerts["16"] is not None and alerts["08"] is None  # the 08:00 reading is still missing


def test_a_reading_taken_up_to_two_hours_before_its_time_counts_for_it(app):
    person, fridge = unit_expected_at(app, "08:00,16:00", "cold_room", "冷藏库")
    at = yesterday_at(app)
    log_reading(app, fridge, person, at(6, 0), 4)  # two hours early, the earliest that counts for 08:00
    assert in_db(app, lambda: jobs.missed_logs(at(8, 30))) == (0, 0)
    log_reading(app, fridge, person, at(13, 59), 4)  # before 16:00's window (from 14:00): still 08:00's
    assert in_db(app, lambda: jobs.missed_logs(at(16, 30))) == (1, 0)
    log_reading(app, fridge, person, at(14, 0), 4)  # 16:00's, two hours early: closes its alert
    assert in_db(app, lambda: jobs.missed_logs(at(16, 40))) == (0, 1)


def test_a_reading_more_than_two_hours_early_does_not_count(app):
    person, fridge = unit_expected_at(app, "08:00", "cold_room", "冷藏库")
    at = yesterday_at(app)
    log_reading(app, fridge, person, at(5, 59), 4)
    assert in_db(app, lambda: jobs.missed_logs(at(8, 30))) == (1, 0)


def test_run_records_outcomes_and_skips_a_claimed_slot(app):
    with app.app_context():
        assert jobs.run("demo", "slot-1", lambda: "done") == "done"
        assert jobs.run("demo", "slot-1", lambda: "again") is None
    row = in_db(app, lambda: JobRun.get())
    assert (row.outcome, row.detail) == ("ok", "done") and row.finished_at is not None


def test_expiry_warnings_and_escalation_raise_each_alert_once(app, staff):
    from canteen.safety.models import CorrectiveAction, SafetyRecord, StockLot, Supplier

    def setup():
        today = clock().today()
        Supplier.create(name="快到期供应商", licence_expiry=today + dt.timedelta(days=10))
        Supplier.create(name="远期供应商", licence_expiry=today + dt.timedelta(days=300))
        Staff.create(name="赵六", health_cert_expiry=today + dt.timedelta(days=5))
        StockLot.create(item="牛奶", category="dairy", quantity=10, qty_unit="L", remaining=4,
                        use_by=today - dt.timedelta(days=1))
        record = SafetyRecord.create(kind="cooking", data="{}", current="{}", occurred_at=dt.datetime(2026, 1, 1),
                                     author="user:manager", day=today)
        CorrectiveAction.create(record=record, item="COOK-01", d="execution", severity="critical", finding="{}",
                                owner="manager", due_at=dt.datetime(2020, 1, 1))
    in_db(app, setup)
    now = in_db(app, lambda: clock().now())
    assert in_db(app, lambda: jobs.expiry_warnings(now)) == 3  # licence, health certificate, stock
    assert in_db(app, lambda: jobs.expiry_warnings(now)) == 0
    assert in_db(app, lambda: jobs.escalate_overdue(now)) == 1
    assert in_db(app, lambda: jobs.escalate_overdue(now)) == 0
    roles = in_db(app, lambda: sorted(a.role for a in Alert.select()))
    assert roles == ["admin", "manager", "manager", "manager"]
    page = signed_in(app, "manager").get("/alerts").get_data(as_text=True)
    assert "快到期供应商" in page and "COOK-01" not in page  # escalations are the admin's
    assert "COOK-01" in signed_in(app, "admin").get("/alerts").get_data(as_text=True)


def test_alerts_inbox_acknowledge_and_resolve(app, staff):
    in_db(app, lambda: jobs.raise_alert("k1", "missed_log", "manager", "冷库未记录", "cold room not logged"))
    client = signed_in(app, "manager")
    assert '<span class="badge">1</span>' in client.get("/office/").get_data(as_text=True)
    alert_id = in_db(app, lambda: Alert.get().id)
    token = csrf_token(client, "/alerts")
    client.post("/alerts", data={"csrf_token": token, "alert": alert_id, "step": "acknowledge"})
    assert in_db(app, lambda: Alert.get().acknowledged_by) == "user:manager"
    client.post("/alerts", data={"csrf_token": token, "alert": alert_id, "step": "resolve"})
    assert in_db(app, lambda: Alert.get().resolved_at) is not None
    assert "cold room not logged" not in client.get("/alerts").get_data(as_text=True)


def test_meal_logs_expect_tableware_and_a_sample_of_every_dish(app):
    from .conftest import add_dish

    dish = in_db(app, lambda: add_dish("红烧肉", "Braised pork"))
    yesterday = in_db(app, lambda: clock().today()) - dt.timedelta(days=1)
    late_night = dt.datetime.combine(yesterday + dt.timedelta(days=1), dt.time(3, 0))
    with app.app_context():
        raised, _ = in_db(app, lambda: jobs.meal_logs(late_night))
    meals = in_db(app, lambda: len(clock().windows))
    assert raised >= meals * 2  # yesterday: each meal's tableware and the dish's sample
    with app.app_context():
        assert in_db(app, lambda: jobs.meal_logs(late_night)) == (0, 0)
    assert in_db(app, lambda: Alert.select().where(Alert.key.contains(f":{dish.id}")).count()) >= meals
    dinner = in_db(app, lambda: Alert.get(Alert.key == f"sample:{yesterday}:dinner:{dish.id}"))
    assert (dinner.message_zh, dinner.message_en) == (f"{yesterday} 晚餐：红烧肉 未留样",
                                                      f"{yesterday} Dinner: no sample of Braised pork")


def test_a_meal_log_is_missed_exactly_when_its_grace_is_over(app):
    from canteen.models import Dish, MenuItem

    day = dt.date(2026, 11, 10)

    def setup():
        dish = Dish.create(name_zh="红烧肉", name_en="Braised pork", price_fen=1200)
        MenuItem.create(day=day, meal="lunch", dish=dish)
        return dish.id, clock().window("lunch").occurrence(day)[1]
    dish, end = in_db(app, setup)
    grace = dt.timedelta(minutes=app.config["MEAL_LOG_GRACE_MINUTES"])
    assert in_db(app, lambda: jobs.meal_logs(end + grace - dt.timedelta(minutes=1))) == (0, 0)
    assert in_db(app, lambda: jobs.meal_logs(end + grace)) == (2, 0)
    keys = in_db(app, lambda: sorted(a.key for a in Alert.select()))
    assert keys == [f"sample:{day}:lunch:{dish}", f"tableware:{day}:lunch"]


def test_near_expiry_stock_is_warned_of_two_days_ahead(app):
    from canteen.safety.models import StockLot

    def setup():
        today = clock().today()
        for days in (2, 3):
            StockLot.create(item=f"牛奶{days}", category="dairy", quantity=10, qty_unit="L", remaining=4,
                            use_by=today + dt.timedelta(days=days))
        return clock().now()
    now = in_db(app, setup)
    assert in_db(app, lambda: jobs.expiry_warnings(now)) == 1
    assert in_db(app, lambda: [a.message_en for a in Alert.select()]) == \
        [f"Stock 牛奶2 nears its use-by date ({now.date() + dt.timedelta(days=2)})"]


def test_a_sample_is_due_for_discarding_at_48_hours_not_before(app):
    from canteen.safety.models import SafetyRecord

    stored = dt.datetime(2026, 11, 10, 12, 0)

    def setup():
        SafetyRecord.create(kind="sample", data="{}", author="user:manager", day=stored.date(),
                            occurred_at=clock().local_to_utc(stored),
                            current=f'{{"stored_at": "{stored.isoformat(timespec="minutes")}"}}')
    in_db(app, setup)
    almost = stored + dt.timedelta(hours=47, minutes=59)
    assert in_db(app, lambda: jobs.expiry_warnings(almost)) == 0
    assert in_db(app, lambda: jobs.expiry_warnings(stored + dt.timedelta(hours=48))) == 1


def test_the_daily_digest_reads_in_its_readers_language(app, staff):
    from canteen.jobs import digests

    in_db(app, lambda: Staff.create(name="王师傅", created_at=dt.datetime(2020, 1, 1)))
    now = in_db(app, lambda: clock().now())
    with app.app_context():
        in_db(app, lambda: digests.daily(now))
    row = in_db(app, lambda: digests.Digest.get())
    english = signed_in(app, "manager", lang="en").get(f"/digests/{row.id}").get_data(as_text=True)
    chinese = signed_in(app, "manager", lang="zh_CN").get(f"/digests/{row.id}").get_data(as_text=True)
    assert "Morning health check of 王师傅" in english and "晨检" not in english.split("<main")[-1]
    assert "王师傅" in chinese and "Morning health check of" not in chinese


def test_weekly_digest_counts_votes_and_is_stored_once(app, staff, dishes):
    from canteen.feedback.models import Rating
    from canteen.jobs import digests

    def votes():
        monday = clock().today() - dt.timedelta(days=clock().today().weekday() + 7)
        for i in range(6):
            Rating.create(dish=dishes["pork"], score=5, channel="kiosk", client_id=f"wk-{i:06d}", day=monday,
                          meal="lunch", voted_at=dt.datetime(2026, 1, 1), comment="<b>好吃</b>" if i == 0 else None)
        Rating.create(dish=dishes["rice"], score=1, channel="kiosk", client_id="wk-flag-1", day=monday,
                      meal="lunch", flag="burst")
        return clock().now()
    now = in_db(app, votes)
    with app.app_context():
        period = in_db(app, lambda: digests.weekly(now))
        in_db(app, lambda: digests.weekly(now))
    row = in_db(app, lambda: digests.Digest.get())
    assert in_db(app, lambda: digests.Digest.select().count()) == 1 and row.period == period
    data = row.data()
    assert data["votes"] == 6 and data["left_out"]["flagged"] == 1
    assert data["dishes"][0]["name_zh"] == "红烧肉" and data["dishes"][0]["votes"] == 6
    assert [c["text"] for c in data["comments"]["latest"]] == ["<b>好吃</b>"]
    page = signed_in(app, "union").get(f"/digests/{row.id}").get_data(as_text=True)
    assert "&lt;b&gt;好吃&lt;/b&gt;" in page
    # the digest is the weekly report: the live page for that week says the same
    live = signed_in(app, "union").get(f"/reports/weekly?week={period}").get_data(as_text=True)
    for text in ("Braised pork belly", "6 votes counted.", "Left out: 1 flagged"):
        assert text in page and text in live


def test_catch_up_runs_todays_due_jobs_once(app):
    from canteen.jobs import scheduler

    early = in_db(app, lambda: clock().now().replace(hour=1, minute=0, second=0, microsecond=0))
    scheduler.catch_up(app, early)  # started at 01:00: no backup (02:30), warnings (06:00) or digests yet
    assert in_db(app, lambda: {r.job for r in JobRun.select()}) == {"missed_logs", "escalate_overdue", "deliver",
                                                                      "suggestion_overdue"}  # the hourly ones
    late = early.replace(hour=23)
    scheduler.catch_up(app, late)
    scheduler.catch_up(app, late)  # a second scheduler, or a restart: nothing twice
    ran = in_db(app, lambda: {r.job for r in JobRun.select()})
    assert ran == set(scheduler.JOBS) - ({"weekly_digest"} if late.weekday() != 0 else set())  # weekly: Mondays
    assert in_db(app, lambda: JobRun.select().where(JobRun.job == "backup").count()) == 1


def test_scheduler_knows_every_job():
    from canteen.jobs import scheduler
    assert set(scheduler.JOBS) == {"missed_logs", "escalate_overdue", "expiry_warnings", "daily_digest",
                                   "weekly_digest", "backup", "deliver", "suggestion_overdue"}


def test_a_sample_kept_48_hours_is_due_for_discarding_once(app):
    from canteen.safety.models import SafetyRecord

    def setup():
        stored = clock().now() - dt.timedelta(hours=49)
        SafetyRecord.create(kind="sample", data="{}", author="user:manager", day=stored.date(),
                            occurred_at=clock().local_to_utc(stored),
                            current=f'{{"stored_at": "{stored.isoformat(timespec="minutes")}"}}')
    in_db(app, setup)
    now = in_db(app, lambda: clock().now())
    assert in_db(app, lambda: jobs.expiry_warnings(now)) == 1
    assert in_db(app, lambda: jobs.expiry_warnings(now)) == 0
    assert "48" in in_db(app, lambda: Alert.get().message_en)


def test_a_daily_round_is_expected_like_any_log(app, staff):
    in_db(app, lambda: ExpectedLog.create(kind="round", times="10:00", grace_minutes=60))
    yesterday = in_db(app, lambda: clock().today()) - dt.timedelta(days=1)
    assert in_db(app, lambda: jobs.missed_logs(dt.datetime.combine(yesterday, dt.time(11, 1)))) == (1, 0)
    assert "4D inspection round" in in_db(app, lambda: Alert.get().message_en)


def test_jobs_page_shows_last_and_next_runs(app, staff):
    with app.app_context():
        jobs.run("backup", "2026-11-26", lambda: "file.db")
    from canteen.jobs.scheduler import JOBS, next_runs

    admin = signed_in(app, "admin")
    before = in_db(app, next_runs)
    page = admin.get("/admin/jobs").get_data(as_text=True)
    assert "backup" in page and "ok" in page and "weekly_digest" in page
    after = in_db(app, next_runs)
    for name in JOBS:  # each job's next run, at the minute its schedule gives
        row = page[page.index(f"<tr><td>{name}</td>"):].split("</tr>")[0]
        shown = row.rsplit("<td>", 1)[1].split("</td>")[0]
        assert shown in {before[name].strftime("%Y-%m-%d %H:%M"), after[name].strftime("%Y-%m-%d %H:%M")}, name
    assert signed_in(app, "manager").get("/admin/jobs").status_code == 403
