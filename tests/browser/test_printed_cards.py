"""Printing QR table cards in Chromium: A6 pages, the single-card SVG a print shop gets,
the URL in text under each code, the warning about unreachable addresses, and revoking."""
import base64
import re

import pytest

from canteen.feedback.models import QrCard
from canteen.models import database

from ..conftest import make_user, require
from .conftest import sign_in_page
from .test_phone_and_offline import card_url, decode_qr, new_card

MM = 72 / 25.4  # PDF points per millimetre
PAGE = re.compile(rb"/Type\s*/Page\b(?!s)")
MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]")


def opencv():
    try:
        import cv2
        import numpy
    except ImportError:
        require(False, "QR decoding needs opencv-python-headless: pip install -e '.[test]'")
    return cv2, numpy


@pytest.fixture
def manager(browser, live):
    with live.app.app_context(), database.connection_context():
        make_user("zhang", "manager")
    context, page = sign_in_page(browser, live, "zhang")
    yield page
    context.close()


def page_sizes(pdf):
    """Each page's size in points, read from Chromium's PDF (Skia writes page objects
    uncompressed; a PDF that hid them would fail the count check, not pass silently)."""
    pages = len(PAGE.findall(pdf))
    boxes = [(float(w), float(h)) for w, h in MEDIA_BOX.findall(pdf)]
    assert pages == len(boxes) and pages > 0, (pages, boxes)
    return boxes


@pytest.mark.parametrize("layout, size, per_page", [("a6", (105, 148), 1), ("a4", (210, 297), 4)])
def test_print_all_gives_pages_of_the_paper_size_in_chromiums_pdf(live, manager, layout, size, per_page):
    for n in range(5):
        new_card(live, f"{n + 1}号桌")
    manager.goto(f"{live.url}/kitchen/cards/print?layout={layout}")
    manager.locator(".print-card .card-qr").first.wait_for()
    pdf = manager.pdf(prefer_css_page_size=True, print_background=True)
    sizes = page_sizes(pdf)
    assert len(sizes) == -(-5 // per_page), sizes  # one card per A6 page, no blank page after
    for width, height in sizes:
        assert abs(width - size[0] * MM) < 1.5 and abs(height - size[1] * MM) < 1.5, (layout, sizes)


def test_every_printed_card_shows_its_url_under_the_code(live, manager):
    cv2, numpy = opencv()
    cards = [new_card(live, "7号桌"), new_card(live, "8号桌")]
    manager.goto(f"{live.url}/kitchen/cards/print?layout=a4")
    for card, element in zip(sorted(cards, key=lambda c: c.id), manager.locator(".print-card").all()):
        shown = element.locator(".card-url").inner_text().replace("\n", "").replace(" ", "")
        assert shown == card_url(live, card)
        assert decode_qr(cv2, numpy, element.screenshot()) == shown
        code, text, box = (element.locator(s).bounding_box() for s in (".card-qr", ".card-url", ":scope"))
        assert code["y"] + code["height"] <= text["y"]  # under the code
        assert box["x"] <= text["x"] and text["x"] + text["width"] <= box["x"] + box["width"]


def test_the_single_card_svg_draws_a_code_at_the_cards_size_that_decodes_to_its_url(browser, live, manager):
    cv2, numpy = opencv()
    card = new_card(live, "12号桌")
    response = manager.request.get(f"{live.url}/kitchen/cards/{card.id}.svg")
    assert response.ok and "attachment" in response.headers["content-disposition"]
    svg = response.body()
    # render the file as a print shop would: the standalone SVG as an image, at 105 × 148 mm
    context = browser.new_context(viewport={"width": 800, "height": 1000}, device_scale_factor=2)
    page = context.new_page()
    page.set_content('<body style="margin:0;background:#fff"><img id="card" style="width:105mm" '
                     f'src="data:image/svg+xml;base64,{base64.b64encode(svg).decode()}"></body>')
    image = page.locator("#card")
    page.wait_for_function("() => document.getElementById('card').complete")
    box = image.bounding_box()
    assert abs(box["height"] / box["width"] - 148 / 105) < 0.01
    png = image.screenshot()
    context.close()
    assert decode_qr(cv2, numpy, png) == card_url(live, card)
    gray = cv2.imdecode(numpy.frombuffer(png, numpy.uint8), cv2.IMREAD_GRAYSCALE)
    found, corners = cv2.QRCodeDetector().detect(gray)
    assert found
    xs, ys = corners[0][:, 0], corners[0][:, 1]
    # the code (without its quiet zone) spans about 60 of the card's 105 mm, centred, in the upper half
    width_mm = (xs.max() - xs.min()) / gray.shape[1] * 105
    centre_mm = (xs.max() + xs.min()) / 2 / gray.shape[1] * 105
    assert 55 < width_mm < 70 and abs(centre_mm - 52.5) < 2, (width_mm, centre_mm)
    assert ys.max() / gray.shape[0] * 148 < 108


@pytest.mark.parametrize("lang, heading, how", [
    ("en", "Phones cannot open the QR codes of this server", "the server's intranet address"),
    ("zh_CN", "手机打不开本服务器生成的二维码", "服务器的内网地址")])
def test_the_warning_about_a_loopback_address_fits_at_1280x800_in_both_languages(browser, live, lang,
                                                                               heading, how):
    with live.app.app_context(), database.connection_context():
        make_user("li", "manager", "admin")
    context, page = sign_in_page(browser, live, "li", viewport=(1280, 800))
    for path in ("/kitchen/cards", "/admin/kiosks"):
        page.goto(f"{live.url}{path}?lang={lang}")
        warning = page.get_by_test_id("phone-reach")
        assert heading in warning.inner_text() and how in warning.inner_text()
        assert "127.0.0.1" in warning.inner_text()  # the address this page was opened with
        box = warning.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280 and box["y"] < 800, (path, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    context.close()


def test_revoking_a_card_asks_first_then_stops_it(live, manager):
    card = new_card(live, "9号桌")
    manager.goto(f"{live.url}/kitchen/cards?lang=zh_CN")
    manager.get_by_role("link", name="撤销").click()
    manager.get_by_role("heading", name="撤销桌卡 9号桌？").wait_for()
    manager.get_by_role("link", name="取消").click()
    manager.wait_for_url("**/kitchen/cards")
    with live.app.app_context(), database.connection_context():
        assert QrCard.get_by_id(card.id).revoked_at is None
    manager.get_by_role("link", name="撤销").click()
    manager.get_by_role("button", name="确认撤销").click()
    manager.wait_for_url("**/kitchen/cards")
    assert "卡片 9号桌 已停用。" in manager.inner_text("body")
    with live.app.app_context(), database.connection_context():
        assert QrCard.get_by_id(card.id).revoked_at is not None
