"""Sending alerts and digests out (webhook and/or SMTP), with retries and never twice.

Each (item, channel) gets one Delivery row; a sender claims it by moving it from pending to
sending in one UPDATE, so two schedulers cannot both send it.
"""
import datetime as dt
import json
import smtplib
import urllib.request
from email.message import EmailMessage

from flask import current_app
from peewee import CharField, DateTimeField, IntegerField, TextField

from ..models import BaseModel, utcnow
from ..reports.export import XLSX, workbook_bytes
from ..reports.weekly import as_tables, email_text
from .digests import Digest
from .models import Alert


class Delivery(BaseModel):
    item_type = CharField(max_length=8)  # alert | digest
    item_id = IntegerField()
    channel = CharField(max_length=8)  # webhook | smtp
    status = CharField(max_length=8, index=True, default="pending")  # pending | sending | sent | failed
    attempts = IntegerField(default=0)
    last_error = TextField(default="")
    next_try_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

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


def send(channel, body):
    config = current_app.config
    text = json.dumps(body, ensure_ascii=False, default=str)
    if channel == "webhook":
        request = urllib.request.Request(config["WEBHOOK_URL"], data=text.encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # raises on 4xx/5xx
            response.read()
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
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
        smtp.send_message(message)


def deliver(now=None):
    """Queue what is new, then send what is due. Returns (sent, failed attempts)."""
    if not channels():
        return 0, 0
    enqueue()
    sent = failed = 0
    due = Delivery.select().where((Delivery.status == "pending") & (Delivery.next_try_at <= utcnow()))
    for delivery in list(due):
        claimed = (Delivery.update(status="sending")
                   .where((Delivery.id == delivery.id) & (Delivery.status == "pending")).execute())
        if claimed != 1:
            continue  # another scheduler has it
        try:
            send(delivery.channel, payload(delivery))
        except Exception as e:  # noqa: BLE001 - any failure is retried later
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
