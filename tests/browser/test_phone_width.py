"""Back-office pages on a 390×844 phone, in both languages: a wide table scrolls inside its
own box and a long setting wraps, so the page itself never scrolls sideways (found by QA:
the registers, dishes, accounts, audit, jobs, alerts, actions and stock tables, and the
CANTEEN_PUBLIC_URL warning, pushed the page up to 260 px past the screen)."""
import pytest

from canteen.models import database

from ..conftest import make_user
from .conftest import sign_in_page

PAGES = ["/safety/registers/suppliers", "/safety/registers/units", "/safety/registers/staff",
         "/safety/actions", "/safety/stock", "/safety/export", "/kitchen/dishes", "/kitchen/cards",
         "/alerts", "/admin/users", "/admin/kiosks", "/admin/tokens", "/admin/audit",
         "/admin/jobs"]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_back_office_pages_fit_a_phone(browser, live, lang):
    with live.app.app_context(), database.connection_context():
        make_user("boss", "manager", "union", "admin")
    context, page = sign_in_page(browser, live, "boss", (390, 844))
    context.add_cookies([{"name": "lang", "value": lang, "url": live.url}])
    wide = {}
    for path in PAGES:
        assert page.goto(f"{live.url}{path}").status == 200
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width
    assert wide == {}
    # the table still shows every column: it scrolls inside its box
    page.goto(f"{live.url}/admin/users")
    assert page.locator(".table-scroll > table.list").count() == 1
    context.close()


@pytest.mark.parametrize("lang", ["中文", "English"])
def test_the_kiosk_opened_on_a_phone_keeps_every_button_on_the_screen(browser, live, lang):
    """QA: /kiosk on a 390 px phone pushed the dish tiles off the left edge (the phone QR and
    the notes beside it took the screen's height), cut faces 1 and 5, and the Change button."""
    from .conftest import pair

    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    pair(page, live)
    page.get_by_role("button", name=lang).tap()
    offscreen = """() => [...document.querySelectorAll('button')].filter(b => b.offsetParent).filter(b => {
        const r = b.getBoundingClientRect();
        return r.left < -1 || r.right > innerWidth + 1 || r.bottom > innerHeight + 1; }).map(b => b.textContent.trim())"""
    tiles = page.locator("#dish-grid button")
    tiles.first.wait_for()
    assert page.evaluate(offscreen) == []
    page.wait_for_timeout(500)  # past the ghost-tap guard
    tiles.nth(1).tap()
    page.locator(".face").first.wait_for()
    assert page.evaluate(offscreen) == []
    page.wait_for_timeout(500)
    page.locator(".face").nth(1).tap()
    page.locator("#change").wait_for()
    assert page.evaluate(offscreen) == []
    context.close()
