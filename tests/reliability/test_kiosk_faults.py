"""A kiosk in Chromium through a full disk and a kill -9: its votes wait in its outbox while the
server answers 503 or nothing, and arrive exactly once when it is back."""
import time

import pytest

from ..browser.test_kiosk import GUARD, wait_for
from .conftest import dish_ids, fill, sqlite_rows, vote

FACES = ["1 很差", "2 差", "3 一般", "4 好", "5 很好"]


@pytest.mark.timeout(150)
def test_a_kiosk_keeps_its_votes_through_a_full_disk_and_a_crash(browser, server, small_disk):  # noqa: F811
    disk = small_disk("64m")
    s = server(instance=disk)
    db = disk / "canteen.db"

    def rows():
        return sqlite_rows(db, "SELECT dish_id, score FROM rating WHERE kiosk = 'fault-kiosk' ORDER BY id")

    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{s.port}/kiosk?kiosk=fault-kiosk")
    page.wait_for_selector(".dish")
    tiles = dish_ids(s.port)  # the kiosk shows the menu's dishes in its order

    filler = fill(disk, disk / "canteen.db")
    dishes, n = dish_ids(s.port), 0
    while vote(s.port, dishes, n)[1][0] == 201 and n < 20000:  # until the file's free pages are gone
        n += 1
    assert vote(s.port, dishes, n)[1][0] == 503

    for i in range(3):  # the disk is full: each vote is kept on the kiosk
        page.wait_for_timeout(GUARD)
        page.locator(".dish").nth(i).tap()
        page.wait_for_timeout(GUARD)
        page.get_by_role("button", name=FACES[i + 2]).tap()
        page.get_by_text("已保存在本机").wait_for()
        page.locator("#screen-dishes").wait_for(state="visible")
    page.get_by_text("本机保存了 3 条评价").wait_for()
    assert rows() == []

    s.kill()  # and then the power goes; the space is freed before it comes back
    filler.unlink()
    s.start()
    assert wait_for(lambda: len(rows()) == 3, 30), "the queued votes did not arrive"
    time.sleep(2)  # nothing arrives twice
    assert rows() == [(tiles[i], i + 3) for i in range(3)]
    page.locator("#unsent").wait_for(state="hidden")
    assert sqlite_rows(db, "PRAGMA integrity_check") == [("ok",)]
    context.close()
