"""The miners' kiosk in Chromium with touch: two taps vote, idle resets, language, offline."""
import os
import re
import time
from pathlib import Path

import pytest

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "kiosk.png"


def wait_for(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def open_kiosk(page, live, query=""):
    page.goto(f"{live.url}/kiosk{query}")
    page.wait_for_selector(".dish")


def test_a_vote_takes_two_taps_and_lands_in_the_database(page, live):
    open_kiosk(page, live)
    page.get_by_role("button", name="红烧肉", exact=True).tap()
    page.get_by_role("button", name="5 很好").tap()
    # no third tap: the vote sends itself after a few seconds without touch
    assert wait_for(live.ratings) == [(live.dishes[1].id, 5, [], "canteen-exit")]
    page.get_by_text("谢谢您的评价").wait_for()
    page.locator(".dish").first.wait_for()  # back to the dishes by itself


def test_a_vote_with_reasons_takes_three_taps_and_done(page, live):
    open_kiosk(page, live, "?kiosk=lamp-room")
    page.get_by_role("button", name="臊子面", exact=True).tap()
    page.get_by_role("button", name="2 差").tap()
    page.get_by_role("button", name="咸了").tap()
    page.get_by_role("button", name="完成").tap()
    assert wait_for(live.ratings) == [(live.dishes[0].id, 2, ["too_salty"], "lamp-room")]


def test_an_abandoned_half_vote_returns_to_the_start_and_stores_nothing(page, live):
    open_kiosk(page, live)
    page.locator(".dish").first.tap()
    assert page.locator("#screen-faces").is_visible()
    page.locator("#screen-dishes").wait_for(state="visible", timeout=6000)
    time.sleep(0.5)
    assert live.ratings() == []


def visible_text(page):
    return page.evaluate("() => document.body.innerText")


def walk_screens(page):
    """The visible text of the dishes, faces and reasons screens."""
    texts = [visible_text(page)]
    page.locator(".dish").first.tap()
    texts.append(visible_text(page))
    page.locator(".face").nth(3).tap()
    texts.append(visible_text(page))
    return texts


def test_language_toggle_switches_every_visible_string(page, live):
    open_kiosk(page, live)
    chinese = walk_screens(page)
    assert all(CJK.search(t) for t in chinese)
    assert all(not re.search(r"[A-Za-z]{3,}", t.replace("English", "")) for t in chinese), chinese

    open_kiosk(page, live)
    page.get_by_role("button", name="English").tap()
    page.wait_for_selector(".dish")
    english = walk_screens(page)
    assert all(not CJK.search(t.replace("中文", "")) for t in english), english
    assert "Braised pork belly" in english[0] and "5 Very good" in english[1] and "Too salty" in english[2]
    assert page.get_by_role("button", name="English").get_attribute("aria-pressed") == "true"


def test_kiosk_loads_nothing_but_its_own_small_assets(page, live):
    sizes = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())))
    open_kiosk(page, live)
    page.wait_for_load_state("networkidle")
    assert page.requests and all(url.startswith(live.url + "/") for url in page.requests), page.requests
    total = sum(sizes.values())
    print(f"kiosk page weight: {total} bytes in {len(sizes)} responses")
    assert total < 150 * 1024


@pytest.mark.parametrize("viewport", [(1280, 800), (1920, 1080)])
def test_every_button_is_a_big_named_touch_target(page, live, viewport):
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    open_kiosk(page, live)
    for screen in walk_screens_buttons(page):
        for name, box in screen:
            assert name.strip(), "a button without an accessible name"
            assert box["width"] >= 64 and box["height"] >= 64, (name, box)


def test_demo_kiosk_on_a_1080p_screen(browser, live_demo, tmp_path):
    """The README's screenshot (CANTEEN_UPDATE_SCREENSHOT=1 writes docs/kiosk.png):
    what a newcomer sees after the first Quick start line."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, has_touch=True)
    page = context.new_page()
    open_kiosk(page, live_demo)
    assert page.locator(".dish").count() >= 5
    target = SCREENSHOT if os.environ.get("CANTEEN_UPDATE_SCREENSHOT") == "1" else tmp_path / "kiosk.png"
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
    context.close()


def walk_screens_buttons(page):
    def buttons():
        found = []
        for b in page.get_by_role("button").all():
            if b.is_visible():
                found.append((b.get_attribute("aria-label") or b.inner_text(), b.bounding_box()))
        return found

    screens = [buttons()]
    page.locator(".dish").first.tap()
    screens.append(buttons())
    page.locator(".face").first.tap()
    screens.append(buttons())
    return screens


def test_a_vote_made_offline_is_delivered_once_when_the_network_returns(page, live):
    open_kiosk(page, live)
    page.route("**/api/v1/ratings", lambda route: route.abort("internetdisconnected"))
    page.locator(".dish").first.tap()
    page.get_by_role("button", name="4 好").tap()
    page.get_by_role("button", name="完成").tap()
    page.get_by_text("谢谢您的评价").wait_for()
    page.locator("#offline").wait_for(state="visible")
    assert live.ratings() == []
    assert page.evaluate("() => JSON.parse(localStorage.getItem('canteen.outbox')).length") == 1
    page.unroute("**/api/v1/ratings")
    assert wait_for(live.ratings, 15) == [(live.dishes[0].id, 4, [], "canteen-exit")]
    time.sleep(1)
    assert len(live.ratings()) == 1
    assert page.evaluate("() => JSON.parse(localStorage.getItem('canteen.outbox')).length") == 0
