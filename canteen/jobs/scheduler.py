"""APScheduler runs the jobs; the database decides who runs each slot.

`python app.py` starts it beside the web server (one process); `flask --app app scheduler`
runs it alone when the web runs in several workers. Never started by create_app.
"""
import datetime as dt
import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from ..clock import clock
from . import backup, delivery, digests, tasks

log = logging.getLogger(__name__)


def _minute(now):
    return now.strftime("%Y-%m-%dT%H:%M")


def _every_minute(now):
    return tasks.missed_logs(now), tasks.meal_logs(now)


def _suggestion_overdue(now):
    from ..reports.suggestions import overdue_alerts

    return overdue_alerts(now)


# name: (function of now, slot of now, schedule for APScheduler, first local time of the day it may run)
JOBS = {
    "missed_logs": (_every_minute, _minute, {"trigger": "cron", "minute": "*"}, dt.time(0, 0)),
    "escalate_overdue": (tasks.escalate_overdue, lambda n: n.strftime("%Y-%m-%dT%H"),
                         {"trigger": "cron", "minute": 5}, dt.time(0, 5)),
    "suggestion_overdue": (_suggestion_overdue, lambda n: n.strftime("%Y-%m-%dT%H"),
                           {"trigger": "cron", "minute": 10}, dt.time(0, 10)),
    "expiry_warnings": (tasks.expiry_warnings, lambda n: n.date().isoformat(),
                        {"trigger": "cron", "hour": 6, "minute": 0}, dt.time(6, 0)),
    "daily_digest": (digests.daily, lambda n: n.date().isoformat(),
                     {"trigger": "cron", "hour": 7, "minute": 0}, dt.time(7, 0)),
    "weekly_digest": (digests.weekly, lambda n: "%d-W%02d" % n.isocalendar()[:2],
                      {"trigger": "cron", "day_of_week": "mon", "hour": 7, "minute": 30}, dt.time(7, 30)),
    # hourly from 02:30: the day's slot is done by the first run that succeeds; the later
    # runs only try again after a failure (ATTEMPTS), and otherwise find the slot taken
    "backup": (backup.make_backup, lambda n: n.date().isoformat(),
               {"trigger": "cron", "hour": "2-23", "minute": 30}, dt.time(2, 30)),
    "deliver": (delivery.deliver, _minute, {"trigger": "cron", "minute": "*"}, dt.time(0, 0)),
}


# how many tries a job's slot gets in all (a config key, or 1: a failure waits for the next slot)
ATTEMPTS = {"backup": "BACKUP_ATTEMPTS"}


def next_runs():
    """{job: next local run time} from each job's cron schedule."""
    from apscheduler.triggers.cron import CronTrigger

    tz = clock().tz
    now = dt.datetime.now(tz)
    out = {}
    for name, (_fn, _slot, schedule, _first) in JOBS.items():
        fields = {k: v for k, v in schedule.items() if k != "trigger"}
        out[name] = CronTrigger(timezone=tz, **fields).get_next_fire_time(None, now)
    return out


def run_job(app, name, now=None):
    """Run job `name` for the slot of `now` unless another scheduler already did."""
    fn, slot_of, _schedule, _first = JOBS[name]
    with app.app_context():
        now = now or clock().now()
        try:
            attempts = current_app.config[ATTEMPTS[name]] if name in ATTEMPTS else 1
            return tasks.run(name, slot_of(now), fn, now, attempts=attempts)
        except Exception:
            log.exception("job %s failed", name)
            return None


def catch_up(app, now=None):
    """On start: run every job whose slot today has come and was not run (a scheduler that was
    down overnight still backs up and sends the digest, once)."""
    with app.app_context():
        now = now or clock().now()
    for name, (_fn, _slot, schedule, first) in JOBS.items():
        if name == "weekly_digest" and now.weekday() != 0:
            continue
        if now.time() >= first:
            run_job(app, name, now)


def build(app, blocking=False):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    kind = BlockingScheduler if blocking else BackgroundScheduler
    # APScheduler logs four INFO lines a minute for the every-minute jobs (~6 000 a day);
    # canteen records each run in job_run and raises an alert on a failure, so only its
    # warnings (a missed run, a job that raised) are worth a line in the server's log.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = kind(timezone=app.extensions["canteen_clock"].tz,
                     job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    for name, (_fn, _slot, schedule, _first) in JOBS.items():
        scheduler.add_job(run_job, args=(app, name), id=name, name=name, **schedule)
    return scheduler


def start_in_background(app):
    """Start beside the web server; the catch-up runs on the scheduler's own thread, so the
    first page is not kept waiting for a backup."""
    scheduler = build(app)
    scheduler.start()
    scheduler.add_job(catch_up, args=(app,), id="catch_up", name="catch_up")
    return scheduler


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the scheduled jobs (alone, for deployments with several web workers)."""
    app = current_app._get_current_object()
    catch_up(app)
    click.echo("canteen scheduler running; Ctrl+C stops it.")
    try:
        build(app, blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        pass
