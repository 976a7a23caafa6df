"""Sending alerts and digests out (webhook and/or SMTP), with retries and never twice.

Each (item, channel) gets one Delivery row; a sender claims it by moving it from pending to
sending in one UPDATE (naming its process), so two schedulers cannot both send it, and marks
it sent once the receiver has taken it.

At most once: what goes out is a copy of something canteen keeps and shows itself (the alert in
the back office, the digest on its page), and a copy sent twice pages someone twice or mails
the union's report twice. So a send cut off by a crash (the sender's process gone, or its claim
older than JOB_LEASE_MINUTES, while the row still says "sending") is never sent again by
itself: the receiver may or may not have it. The row becomes "unknown" and the administrator
gets an alert saying what to check; `flask --app app deliveries resend ID` sends it again.
A send that failed with an answer (the webhook's 503, refused connection, SMTP error) did not
arrive and is retried as before, up to DELIVERY_MAX_ATTEMPTS.
"""
import datetime as dt
import json
import logging
import http.client
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage

import click
from flask import current_app
from flask.cli import AppGroup
from peewee import CharField, DateTimeField, IntegerField, TextField

from ..models import BaseModel, utcnow
from ..reports.export import XLSX, workbook_bytes
from ..reports.weekly import as_tables, email_text
from .digests import Digest
from .models import Alert
from .tasks import owner, owner_is_gone, raise_alert

log = logging.getLogger(__name__)
STATUSES = ("pending", "sending", "sent", "failed", "unknown")  # unknown: cut off mid-send, see below


class Delivery(BaseModel):
    item_type = CharField(max_length=8)  # alert | digest
    item_id = IntegerField()
    channel = CharField(max_length=8)  # webhook | smtp
    # pending | sending | sent | failed | unknown (cut off mid-send: maybe sent, never resent by itself)
    status = CharField(max_length=8, index=True, default="pending")
    attempts = IntegerField(default=0)
    last_error = TextField(default="")
    next_try_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)
    claimed_by = CharField(max_length=120, default="")  # host:pid:start of the sender
    claimed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("item_type", "item_id", "channel"), True),)


def channels():
    config = current_app.config
    out = []
    if config["WEBHOOK_URL"]:
        out.append("webhook")
    if config["SMTP_HOST"] and config["SMTP_TO"]:
        out.append("smtp")
    return out


def enqueue(since=None):
    """A pending delivery for every alert and digest not yet queued, on every channel."""
    queued = 0
    for channel in channels():
        for item_type, model in (("alert", Alert), ("digest", Digest)):
            query = model.select(model.id)
            if since is not None:
                query = query.where(model.created_at >= since)
            for (item_id,) in query.tuples():
                queued += (Delivery.insert(item_type=item_type, item_id=item_id, channel=channel,
                                           status="pending", next_try_at=utcnow())
                           .on_conflict_ignore().as_rowcount().execute())
    return queued


def payload(delivery):
    if delivery.item_type == "alert":
        alert = Alert.get_by_id(delivery.item_id)
        return {"type": "alert", "kind": alert.kind, "role": alert.role, "message_zh": alert.message_zh,
                "message_en": alert.message_en, "created_at": alert.created_at.isoformat() + "Z"}
    digest = Digest.get_by_id(delivery.item_id)
    return {"type": "digest", "kind": digest.kind, "period": digest.period, "body": digest.data()}


class Uncertain(Exception):
    """The receiver may or may not have the item: sent, then no answer (timeout, connection
    lost). Never retried by itself (see the module's note)."""


def send(channel, body):
    """Send `body`; raises Uncertain when it may have arrived, anything else when it did not."""
    config = current_app.config
    wait = config["DELIVERY_TIMEOUT_SECONDS"]
    text = json.dumps(body, ensure_ascii=False, default=str)
    if channel == "webhook":
        request = urllib.request.Request(config["WEBHOOK_URL"], data=text.encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            response = urllib.request.urlopen(request, timeout=wait)
        except urllib.error.URLError:
            raise  # not sent (no connection, or the request never went out whole), or answered 4xx/5xx
        except (OSError, http.client.HTTPException) as e:  # sent, then no answer: did it arrive?
            raise Uncertain(repr(e)) from e
        response.close()  # a 2xx: taken
        return
    message = EmailMessage()
    message["From"] = config["SMTP_FROM"]
    message["To"] = config["SMTP_TO"]
    subject = body.get("message_zh") or f"{body['kind']} digest {body.get('period', '')}"
    if body.get("type") == "digest" and body.get("kind") == "weekly" and "dishes" in body["body"]:
        # the union's weekly report: readable text, and its tables as a spreadsheet
        subject = f"食堂评价周报 weekly feedback report {body['period']}"
        message["Subject"] = f"[canteen] {subject}"
        message.set_content(email_text(body["body"]))
        maintype, subtype = XLSX.split("/")
        message.add_attachment(workbook_bytes(as_tables(body["body"], "zh_CN")), maintype=maintype,
                               subtype=subtype, filename=f"weekly-{body['period']}.xlsx")
    else:
        message["Subject"] = f"[canteen] {subject}"[:200]
        message.set_content(text)
    smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=wait)  # fails: not sent
    try:
        smtp.send_message(message)
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
        raise  # the server answered no: not taken
    except (OSError, smtplib.SMTPException) as e:  # cut off mid-conversation: maybe taken
        raise Uncertain(repr(e)) from e
    finally:
        try:
            smtp.quit()  # after a send that worked, a failed goodbye changes nothing
        except (OSError, smtplib.SMTPException):
            smtp.close()


def cut_off():
    """Mark "unknown" every send whose sender died mid-send (or holds it past the lease), and
    raise an alert for each: the receiver may have it, so it is neither resent nor dropped
    silently. Returns how many."""
    lease = dt.timedelta(minutes=current_app.config["JOB_LEASE_MINUTES"])
    found = 0
    for delivery in list(Delivery.select().where(Delivery.status == "sending")):
        lapsed = delivery.claimed_at is None or delivery.claimed_at < utcnow() - lease
        if not (owner_is_gone(delivery.claimed_by) or lapsed):
            continue  # still being sent by a live process
        found += mark_unknown(delivery, "the sender stopped mid-send")
    return found


def mark_unknown(delivery, why):
    """"unknown" (from sending, by the same claim) and an alert for the administrator: 1, or 0
    when another process got there first."""
    marked = (Delivery.update(status="unknown", last_error=why[:500])
              .where((Delivery.id == delivery.id) & (Delivery.status == "sending")
                     & (Delivery.claimed_by == delivery.claimed_by)).execute())
    if marked != 1:
        return 0
    log.warning("delivery %s (%s %s by %s) may or may not have arrived (%s): marked unknown", delivery.id,
                delivery.item_type, delivery.item_id, delivery.channel, why)
    raise_alert(f"delivery-unknown:{delivery.id}", "delivery_unknown", "admin",
                f"外发 #{delivery.id}（{delivery.item_type} {delivery.item_id}，{delivery.channel}）已发出但未获确认，"
                f"对方可能已收到也可能没有：请核实，需要时执行 flask deliveries resend {delivery.id}",
                f"Delivery #{delivery.id} ({delivery.item_type} {delivery.item_id} by {delivery.channel}) was "
                f"sent but never confirmed (the sender stopped, or no answer came) and may or may not have "
                f"arrived: check the receiver, and if it is "
                f"missing run `flask deliveries resend {delivery.id}`")
    return 1


def deliver(now=None):
    """Queue what is new, then send what is due. Returns (sent, failed attempts)."""
    if not channels():
        return 0, 0
    cut_off()
    enqueue()
    sent = failed = 0
    due = Delivery.select().where((Delivery.status == "pending") & (Delivery.next_try_at <= utcnow()))
    for delivery in list(due):
        claimed = (Delivery.update(status="sending", claimed_by=owner(), claimed_at=utcnow())
                   .where((Delivery.id == delivery.id) & (Delivery.status == "pending")).execute())
        if claimed != 1:
            continue  # another scheduler has it
        delivery.claimed_by = owner()
        try:
            send(delivery.channel, payload(delivery))
        except Uncertain as e:
            failed += mark_unknown(delivery, f"no answer after sending: {e}")
        except Exception as e:  # noqa: BLE001 - it did not arrive: retried later
            attempts = delivery.attempts + 1
            give_up = attempts >= current_app.config["DELIVERY_MAX_ATTEMPTS"]
            (Delivery.update(status="failed" if give_up else "pending", attempts=attempts,
                             last_error=repr(e)[:500],
                             next_try_at=utcnow() + dt.timedelta(minutes=2 ** attempts))
             .where(Delivery.id == delivery.id).execute())
            failed += 1
        else:
            (Delivery.update(status="sent", attempts=delivery.attempts + 1, sent_at=utcnow())
             .where(Delivery.id == delivery.id).execute())
            sent += 1
    return sent, failed


deliveries_cli = AppGroup("deliveries", help="Outbound alerts and digests.")


@deliveries_cli.command("list")
@click.option("--status", default=None, type=click.Choice(STATUSES), help="only this status (e.g. unknown)")
def list_command(status):
    """Deliveries, newest first: id, status, item, channel, attempts, last error."""
    query = Delivery.select().order_by(Delivery.id.desc())
    if status:
        query = query.where(Delivery.status == status)
    for d in query.limit(200):
        click.echo(f"{d.id}\t{d.status}\t{d.item_type} {d.item_id}\t{d.channel}\t{d.attempts}\t{d.last_error[:80]}")


@deliveries_cli.command("resend")
@click.argument("delivery_id", type=click.IntRange(1, 2**31 - 1))  # an id the database can hold
def resend_command(delivery_id):
    """Queue an "unknown" or "failed" delivery to be sent again (after checking the receiver)."""
    changed = (Delivery.update(status="pending", next_try_at=utcnow(), claimed_by="", claimed_at=None)
               .where((Delivery.id == delivery_id) & Delivery.status.in_(["unknown", "failed"])).execute())
    if changed != 1:
        found = Delivery.get_or_none(Delivery.id == delivery_id)
        if found is None:
            raise click.ClickException(f"There is no delivery {delivery_id} (see: flask deliveries list).")
        raise click.ClickException(
            f"delivery {delivery_id} is {found.status}, not unknown or failed: nothing to resend")
    (Alert.update(resolved_at=utcnow(), resolved_by="resent by hand")
     .where((Alert.key == f"delivery-unknown:{delivery_id}") & Alert.resolved_at.is_null()).execute())
    click.echo(f"Delivery {delivery_id} queued; the scheduler sends it within a minute.")
