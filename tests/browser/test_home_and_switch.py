"""The home page's numbers on a tablet and a phone, in both languages, and the quick switch
on a shared tablet, in Chromium."""
import pytest

from canteen.models import database
from canteen.office.accounts import User

from ..conftest import make_user
from .conftest import sign_in_page

PIN = "4862"


def people(live):
    with live.app.app_context(), database.connection_context():
        make_user("boss", "manager", "union", "admin")
        make_user("manager", "manager")
        deputy = make_user("deputy", "manager")
        deputy.set_pin(PIN)
        deputy.save(only=[User.pin_hash])


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)])
def test_home_numbers_fit_on_a_tablet_and_a_phone(browser, live, lang, viewport):
    people(live)
    context, page = sign_in_page(browser, live, "boss", viewport)
    context.add_cookies([{"name": "lang", "value": lang, "url": live.url}])
    page.goto(f"{live.url}/office/")
    tiles = page.locator("[data-tile]")
    assert tiles.count() == 12  # alerts + the manager's 3 + the union's 5 + the admin's 3
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
    clipped = page.evaluate("""() => [...document.querySelectorAll('[data-tile]')]
        .filter(t => t.scrollWidth > t.clientWidth + 1).map(t => t.dataset.tile)""")
    assert clipped == []
    first = tiles.first.bounding_box()
    assert first["width"] >= 150 and first["x"] >= 0
    assert tiles.first.locator(".tile-value").inner_text() == "0"
    page.screenshot(path=f"/tmp/home-{lang}-{viewport[0]}.png", full_page=True)
    # every number is a link to its page, which opens
    page.locator("[data-tile=votes_week]").tap()
    page.wait_for_url("**/reports/trends**")
    context.close()


def test_switch_person_and_back_on_a_shared_tablet(browser, live):
    people(live)
    context, page = sign_in_page(browser, live, "manager")
    context.add_cookies([{"name": "lang", "value": "en", "url": live.url}])
    page.goto(f"{live.url}/office/")
    page.get_by_role("link", name="Switch person").tap()
    page.locator("#switch-people").get_by_text("Deputy").tap()  # one tap on the name
    secret = page.get_by_label("PIN or password")
    assert secret.get_attribute("inputmode") == "numeric"
    assert page.evaluate("document.activeElement.id") == "secret"  # the keypad is up at once
    secret.fill(PIN)
    page.get_by_role("button", name="Switch", exact=True).tap()
    page.wait_for_url(f"{live.url}/office/")
    assert page.locator("h1").inner_text() == "Hello, Deputy"
    with page.expect_navigation():
        page.get_by_role("button", name="Back to Manager").tap()
    assert page.locator("h1").inner_text() == "Hello, Manager"
    assert page.get_by_role("button", name="Back to Manager").count() == 0
    context.close()
