"""A real Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a live server."""
import threading
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from canteen.feedback.models import Rating
from canteen.models import database

from ..conftest import PASSWORD, add_dish, close_pool, make_app

# The session's one Chromium (`browser`) lives in tests/conftest.py: tests/reliability uses it
# too, and two sync Playwrights in one run cannot coexist.


@pytest.fixture
def live(tmp_path):
    """The app served on a free loopback port, with three dishes on the menu now."""
    app = make_app(f"sqlite:///{tmp_path}/live.db", tmp_path,
                   KIOSK_IDLE_SECONDS=2, KIOSK_THANKS_SECONDS=1, KIOSK_REASONS_SECONDS=2)
    with app.app_context(), database.connection_context():
        dishes = [add_dish("臊子面", "Saozi noodles", 800, category="noodles"),
                  add_dish("红烧肉", "Braised pork belly", 1200, category="meat"),
                  add_dish("小米粥", "Millet porridge", 100, category="soup")]
    yield from serve(app, dishes)


@pytest.fixture
def live_demo(tmp_path):
    """The app with its demo canteen, as a newcomer first sees it."""
    yield from serve(make_app(f"sqlite:///{tmp_path}/demo.db", tmp_path, DEMO=True), [])


class LiveServer:
    """The app on a loopback port that can be stopped and started again on the same port,
    as when the canteen's server restarts or the mine network drops."""

    def __init__(self, app, port=0):
        self.app = app
        self.server = None
        self.start(port)

    def start(self, port=None):
        self.server = make_server("127.0.0.1", port if port is not None else self.port, self.app,
                                  threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def serve(app, dishes):
    live_server = LiveServer(app)

    def ratings():
        with app.app_context(), database.connection_context():
            return [(r.dish_id, r.score, r.tags(), r.kiosk) for r in Rating.select().order_by(Rating.id)]

    def rows():
        with app.app_context(), database.connection_context():
            return list(Rating.select().order_by(Rating.id))

    yield SimpleNamespace(url=f"http://127.0.0.1:{live_server.port}", app=app, server=live_server,
                          dishes=dishes, ratings=ratings, rows=rows)
    live_server.stop()
    close_pool()


@pytest.fixture
def page(browser, live):
    """A touch-screen kiosk page (1280×800 tablet) that records every request it makes."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True,
                                  locale="en-US")
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    yield page
    context.close()


def sign_in_page(browser, live, username, viewport=(1280, 800)):
    """A new touch context signed in to the back office through the real form."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, has_touch=True)
    page = context.new_page()
    page.goto(f"{live.url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/office/")
    return context, page


def pair(page, live, name="canteen-exit", location="", card_reader=False):
    """Pair the page's browser as a kiosk, as an administrator's one-time code does: outside
    demo mode only paired screens take votes."""
    from canteen.office.accounts import Kiosk

    with live.app.app_context(), database.connection_context():
        kiosk = Kiosk.get_or_none(Kiosk.name == name) or Kiosk(name=name)
        kiosk.location, kiosk.card_reader = location, card_reader
        code = kiosk.new_pairing_code()
        kiosk.save()
    page.goto(f"{live.url}/kiosk/pair/{code}")
    page.locator("form button[type=submit]").tap()
    page.wait_for_url("**/kiosk")


def pytest_collection_modifyitems(items):
    """Browser tests wait for screens, retries and a server that comes back: 300 s each."""
    for item in items:
        if "/tests/browser/" in str(item.path) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(300))
