"""Outbound delivery: a real webhook receiver and a real SMTP server on loopback."""
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from canteen.jobs import delivery
from canteen.jobs import tasks as jobs
from canteen.jobs.delivery import Delivery
from canteen.models import database

from .conftest import close_pool, make_app, require


class Receiver(BaseHTTPRequestHandler):
    received = []
    fail_first = 0

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Receiver.fail_first > 0:
            Receiver.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received, Receiver.fail_first = [], 1
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_retries_and_never_sends_twice(tmp_path, webhook):
    app = make_app(f"sqlite:///{tmp_path}/d.db", tmp_path, WEBHOOK_URL=webhook)
    try:
        with app.app_context(), database.connection_context():
            jobs.raise_alert("k1", "missed_log", "manager", "冷库未记录", "cold room not logged")
            assert delivery.deliver() == (0, 1)  # the receiver is down (503): kept for later
            Delivery.update(next_try_at=jobs.utcnow()).execute()  # its retry time has come
            results = []
            threads = [threading.Thread(target=lambda: results.append(_deliver(app))) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sum(sent for sent, _failed in results) == 1
            assert delivery.deliver() == (0, 0)
        assert [r["message_en"] for r in Receiver.received] == ["cold room not logged"]
    finally:
        close_pool()


def _deliver(app):
    with app.app_context(), database.connection_context():
        return delivery.deliver()


def test_smtp_sends_each_alert_once(tmp_path):
    try:
        import aiosmtpd.controller as aiosmtpd
    except ImportError:
        require(False, "SMTP tests need aiosmtpd: pip install -e '.[test]'")
    messages = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            messages.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    app = make_app(f"sqlite:///{tmp_path}/s.db", tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                   SMTP_TO="manager@mine.local")
    try:
        with app.app_context(), database.connection_context():
            jobs.raise_alert("k2", "expiry", "manager", "健康证到期", "certificate expires")
            assert delivery.deliver() == (1, 0)
            assert delivery.deliver() == (0, 0)
        assert len(messages) == 1 and "certificate expires" in messages[0]
    finally:
        controller.stop()
        close_pool()


def test_nothing_is_sent_when_no_channel_is_configured(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/n.db", tmp_path)
    try:
        with app.app_context(), database.connection_context():
            jobs.raise_alert("k3", "expiry", "manager", "x", "x")
            assert delivery.deliver() == (0, 0)
            assert Delivery.select().count() == 0
    finally:
        close_pool()


def test_the_weekly_report_goes_out_by_mail_as_text_and_a_spreadsheet(tmp_path):
    import datetime as dt
    import email
    import io

    from openpyxl import load_workbook

    from canteen.clock import clock
    from canteen.feedback.models import Rating
    from canteen.jobs import digests
    from canteen.models import Dish
    try:
        import aiosmtpd.controller as aiosmtpd
    except ImportError:
        require(False, "SMTP tests need aiosmtpd: pip install -e '.[test]'")
    messages = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            messages.append(envelope.content)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    app = make_app(f"sqlite:///{tmp_path}/w.db", tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                   SMTP_TO="union@mine.local")
    try:
        with app.app_context(), database.connection_context():
            now = clock().now()
            monday = now.date() - dt.timedelta(days=now.weekday() + 7)
            dish = Dish.create(name_zh="油泼面", name_en="Hot-oil noodles", price_fen=700)
            for i, score in enumerate([5, 4, 5, 5, 4, 3, 5, 4, 5, 5, 4, 5]):
                Rating.create(dish=dish, score=score, channel="kiosk", client_id=f"mail-{i:04d}", day=monday,
                              meal="lunch")
            period = digests.weekly(now)
            assert delivery.deliver() == (1, 0)
        message = email.message_from_bytes(messages[0])
        assert period in message["Subject"] and "weekly" in message["Subject"]
        text, attachment = [part for part in message.walk() if not part.is_multipart()]
        body = text.get_payload(decode=True).decode()
        assert "counted votes: 12" in body and "油泼面 / Hot-oil noodles" in body
        assert attachment.get_filename() == f"weekly-{period}.xlsx"
        book = load_workbook(io.BytesIO(attachment.get_payload(decode=True)))
        assert list(book["dishes"].iter_rows(values_only=True))[1][:3] == ("油泼面", 7, 12)
    finally:
        controller.stop()
        close_pool()


def test_a_critical_finding_goes_out_to_the_webhook(tmp_path, webhook):
    """A cold room at 10 ℃: the manager is told through the configured channel, not only the inbox."""
    from canteen.safety import service
    from canteen.safety.models import Staff, StorageUnit

    Receiver.fail_first = 0
    app = make_app(f"sqlite:///{tmp_path}/d.db", tmp_path, WEBHOOK_URL=webhook)
    try:
        with app.app_context(), database.connection_context():
            cook = Staff.create(name="王师傅")
            unit = StorageUnit.create(name="1号冷库", kind="cold_room", owner=cook, checker=cook)
            service.create("storage", {"unit": unit.id, "temperature": 10, "off_floor_cm": 15, "off_wall_cm": 10,
                                       "labels_ok": True, "fifo_ok": True, "raw_cooked_separated": True,
                                       "expired_found": 0, "inspected_by": cook.id}, "user:manager")
            assert delivery.deliver() == (1, 0)
        [sent] = Receiver.received
        assert sent["kind"] == "critical_finding" and sent["role"] == "manager"
        assert "10" in sent["message_en"] and "冷藏温度不高于 8 ℃" in sent["message_zh"]
    finally:
        close_pool()


@pytest.mark.timeout(30)
def test_a_webhook_that_takes_the_alert_but_never_answers_is_marked_unknown_not_resent(tmp_path):
    """Sent, then no answer within CANTEEN_DELIVERY_TIMEOUT_SECONDS: it may have arrived, so it
    is not retried by itself (at most once) but marked "unknown" and raised to the admin."""
    from http.server import ThreadingHTTPServer

    from canteen.jobs.models import Alert

    received, hold = [], threading.Event()

    class Silent(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            if len(received) == 1:
                hold.wait(10)  # taken in, answered too late
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = make_app(f"sqlite:///{tmp_path}/d.db", tmp_path, WEBHOOK_URL=f"http://127.0.0.1:{server.server_port}/",
                   DELIVERY_TIMEOUT_SECONDS=1.0)
    try:
        with app.app_context(), database.connection_context():
            jobs.raise_alert("k1", "missed_log", "manager", "冷库未记录", "cold room not logged")
            assert delivery.deliver() == (0, 1)
            hold.set()
            row = Delivery.get()
            assert row.status == "unknown" and "no answer after sending" in row.last_error
            warning = Alert.get(Alert.key == f"delivery-unknown:{row.id}")
            assert (warning.kind, warning.role) == ("delivery_unknown", "admin")
            Delivery.update(next_try_at=jobs.utcnow()).execute()
            assert delivery.deliver() == (1, 0)  # the warning goes out; the alert is not sent again
            assert delivery.deliver() == (0, 0)
        assert [r["message_en"] for r in received] == ["cold room not logged", warning.message_en]
    finally:
        close_pool()
        server.shutdown()
        server.server_close()


def test_the_deliveries_command_refuses_what_it_cannot_do_by_name(app):
    """A mistyped status is an error (not an empty list); an id that is no delivery says so
    (not "not unknown or failed"), an id past the database's range too (not a traceback)."""
    with app.app_context(), database.connection_context():
        sent = Delivery.create(item_type="alert", item_id=1, channel="webhook", status="sent")
    runner = app.test_cli_runner()
    typo = runner.invoke(args=["deliveries", "list", "--status", "unknwon"])
    assert typo.exit_code == 2 and "unknown" in typo.output and "pending" in typo.output
    assert runner.invoke(args=["deliveries", "list", "--status", "sent"]).output.startswith(f"{sent.id}\tsent")
    missing = runner.invoke(args=["deliveries", "resend", "424242"])
    assert missing.exit_code == 1 and "There is no delivery 424242" in missing.output
    huge = runner.invoke(args=["deliveries", "resend", str(2**70)])
    assert huge.exit_code == 2 and "Invalid value" in huge.output
    done = runner.invoke(args=["deliveries", "resend", str(sent.id)])
    assert done.exit_code == 1 and "is sent, not unknown or failed" in done.output
