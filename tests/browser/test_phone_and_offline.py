"""Phones voting from printed QR cards, and a kiosk that loses its server for a while."""
import datetime as dt
import time

from canteen.feedback.models import QrCard
from canteen.models import database

from ..conftest import make_user, require
from .conftest import sign_in_page
from .test_kiosk import GUARD, open_kiosk, wait_for


def new_card(live, label="12号桌", dish=None):
    with live.app.app_context(), database.connection_context():
        return QrCard.create(label=label, location="一楼", dish=dish)


def card_url(live, card):
    with live.app.test_request_context(base_url=live.url):
        from canteen.feedback import qr
        from canteen.feedback.kiosk import phone_url
        return phone_url(qr.card_token(card.id))


def test_a_phone_votes_from_a_printed_card(browser, live):
    card = new_card(live)
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                  device_scale_factor=2)
    page = context.new_page()
    sizes = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())))
    page.goto(card_url(live, card))
    page.wait_for_load_state("networkidle")
    weight = sum(sizes.values())
    print(f"phone page weight: {weight} bytes in {len(sizes)} responses")
    assert weight < 100 * 1024
    rows = [page.locator(".dish-row").nth(i).bounding_box() for i in range(page.locator(".dish-row").count())]
    assert rows and all(r["height"] >= 64 and r["width"] >= 300 for r in rows), rows  # styled rows, not a list
    page.get_by_role("button", name="红烧肉", exact=True).tap()
    faces = [page.locator(".vote-panel .face").nth(i).bounding_box() for i in range(5)]
    assert all(f["width"] >= 56 and f["height"] >= 64 for f in faces), faces  # five in a row, thumb-sized (≥ 48 px)
    assert len({round(f["y"]) for f in faces}) == 1
    page.get_by_role("button", name="4 好").tap()
    page.get_by_role("button", name="好吃").tap()
    page.get_by_label("留言").fill("<script>alert(1)</script> 肉有点少")
    page.get_by_role("button", name="提交").tap()
    page.get_by_text("谢谢！评价已提交").wait_for()
    rows = wait_for(live.rows)
    assert len(rows) == 1
    vote = rows[0]
    assert (vote.dish_id, vote.score, vote.channel, vote.source) == (live.dishes[1].id, 4, "phone", f"card:{card.id}")
    assert vote.comment == "<script>alert(1)</script> 肉有点少" and vote.voter_key
    context.close()


def decode_qr(cv2, numpy, png):
    """What a phone camera would read: try the plain screenshot, then with a wider quiet zone
    and at other scales (OpenCV's detector is picky about module size)."""
    image = cv2.imdecode(numpy.frombuffer(png, numpy.uint8), cv2.IMREAD_GRAYSCALE)
    padded = cv2.copyMakeBorder(image, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
    for candidate in (image, padded, cv2.resize(padded, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST),
                      cv2.resize(padded, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)):
        for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            text, _points, _code = detector.detectAndDecode(candidate)
            if text:
                return text
    return ""


def test_the_printed_card_sheet_carries_a_qr_that_decodes_to_the_phone_page(browser, live):
    try:
        import cv2
        import numpy
    except ImportError:
        require(False, "QR decoding needs opencv-python-headless: pip install -e '.[test]'")

    with live.app.app_context(), database.connection_context():
        make_user("zhang", "manager")
    card = new_card(live, "7号桌")
    context, page = sign_in_page(browser, live, "zhang", viewport=(900, 1300))
    page.goto(f"{live.url}/kitchen/cards/print?layout=a6&card={card.id}")
    page.locator(".print-card .card-qr").first.wait_for()
    text = decode_qr(cv2, numpy, page.locator(".print-card").first.screenshot())
    assert text.startswith(f"{live.url}/p/"), text
    phone = context.new_page()
    phone.goto(text)
    assert phone.get_by_text("7号桌").count() >= 1
    assert "扫码评价今天的菜" in page.inner_text("body")
    context.close()


def test_a_kiosk_that_loses_its_server_delivers_every_vote_once_with_its_time(browser, live):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    page = context.new_page()
    open_kiosk(page, live)
    assert page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the service worker, which keeps the shell for offline reloads
    page.wait_for_selector(".dish")

    live.server.stop()
    cast = []
    faces = ["1 很差", "2 差", "3 一般", "4 好", "5 很好"]
    for i in range(10):
        page.wait_for_timeout(GUARD)
        page.locator(".dish").nth(i % 3).tap()
        page.wait_for_timeout(GUARD)
        page.get_by_role("button", name=faces[i % 5]).tap()
        cast.append((time.time(), live.dishes[i % 3].id, i % 5 + 1))
        page.get_by_text("已保存在本机").wait_for()
        page.locator("#screen-dishes").wait_for(state="visible")
        if i == 4:  # reloaded while the server is down: the kiosk still works
            page.reload()
            page.wait_for_selector(".dish")
    assert page.get_by_text("本机保存了 10 条评价").is_visible()
    assert live.rows() == []

    live.server.start()
    back = time.monotonic()
    rows = wait_for(lambda: len(live.rows()) == 10 and live.rows(), 30)
    assert rows, "the queued votes did not arrive"
    print(f"offline replay: 10 votes delivered {time.monotonic() - back:.1f} s after the server came back")
    time.sleep(2)  # nothing arrives twice
    rows = live.rows()
    assert len(rows) == 10
    for row, (when, dish_id, score) in zip(rows, cast):
        assert (row.dish_id, row.score) == (dish_id, score)
        voted = row.voted_at.replace(tzinfo=dt.timezone.utc).timestamp()
        assert abs(voted - when) < 2, (row.voted_at, when)
        assert row.created_at > row.voted_at  # stored later, counted at its own time
    page.locator("#unsent").wait_for(state="hidden")
    context.close()
