"""Scheduled work: each slot claimed once (two schedulers racing), missed-log alerts with a
fake clock, late entries closing them."""
import datetime as dt
import threading

from canteen import jobs
from canteen.clock import clock
from canteen.jobs import Alert, ExpectedLog, JobRun
from canteen.models import database
from canteen.safety import service
from canteen.safety.models import Staff, StorageUnit


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


def test_a_forgotten_reading_raises_one_alert_and_a_late_one_closes_it(app):
    def setup():
        person = Staff.create(name="王师傅", health_cert_expiry=clock().today() + dt.timedelta(days=90))
        freezer = StorageUnit.create(name="冷冻库", kind="freezer", owner=person, checker=person)
        ExpectedLog.create(kind="storage", unit=freezer.id, times="08:00,16:00", grace_minutes=30)
        return person.id, freezer.id
    person, freezer = in_db(app, setup)
    yesterday = in_db(app, lambda: clock().today()) - dt.timedelta(days=1)

    def at(hour, minute):
        return dt.datetime.combine(yesterday, dt.time(hour, minute))

    assert in_db(app, lambda: jobs.missed_logs(at(8, 29))) == (0, 0)  # still within the grace
    assert in_db(app, lambda: jobs.missed_logs(at(8, 31))) == (1, 0)
    assert in_db(app, lambda: jobs.missed_logs(at(9, 0))) == (0, 0)  # raised once, not again
    assert in_db(app, lambda: jobs.missed_logs(at(16, 31))) == (1, 0)

    def log_late():
        with app.test_request_context():
            entry = {"unit": freezer, "temperature": -18, "off_floor_cm": 15, "off_wall_cm": 15,
                     "labels_ok": True, "fifo_ok": True, "raw_cooked_separated": True, "expired_found": 0,
                     "inspected_by": person, "occurred_at": at(16, 50).isoformat()}
            return service.create("storage", entry, "user:manager")
    record, _verdict = in_db(app, log_late)
    assert record.late_by is not None  # entered for an earlier time
    raised, resolved = in_db(app, lambda: jobs.missed_logs(at(17, 0)))
    assert raised == 0 and resolved == 1
    alerts = in_db(app, lambda: {a.key.rsplit(":", 2)[-2][-2:]: a.resolved_at for a in Alert.select()})
    assert alerts["16"] is not None and alerts["08"] is None  # the 08:00 reading is still missing


def test_run_records_outcomes_and_skips_a_claimed_slot(app):
    with app.app_context():
        assert jobs.run("demo", "slot-1", lambda: "done") == "done"
        assert jobs.run("demo", "slot-1", lambda: "again") is None
    row = in_db(app, lambda: JobRun.get())
    assert (row.outcome, row.detail) == ("ok", "done") and row.finished_at is not None
