"""QR table cards a manager can print safely: a reachable address, the URL in text, a
single-card SVG at the card's size, and a revoke that asks first."""
import html
import re
import xml.etree.ElementTree as ET

import pytest

from canteen.audit import AuditEntry
from canteen.feedback import qr
from canteen.feedback.models import QrCard
from canteen.models import database

from .conftest import csrf_token, signed_in

SVG = "{http://www.w3.org/2000/svg}"


def in_db(app, fn):
    with app.app_context(), database.connection_context():
        return fn()


@pytest.mark.parametrize("url, problem", [
    ("", "unset"),
    (None, "unset"),
    ("   ", "unset"),
    ("http://127.0.0.1:5000", "loopback"),
    ("http://127.45.6.7", "loopback"),
    ("http://[::1]:5000", "loopback"),
    ("http://[::ffff:127.0.0.1]:5000", "loopback"),
    ("http://localhost:5000", "loopback"),
    ("https://LocalHost./", "loopback"),
    ("http://kiosk.localhost:5000", "loopback"),
    ("http://0.0.0.0:5000", "loopback"),
    ("canteen.mine.local:5000", "invalid"),  # no scheme: a phone's scanner reads it as text
    ("10.12.0.5:5000", "invalid"),
    ("ftp://10.12.0.5", "invalid"),
    ("http://", "invalid"),
    ("http://10.12.0.5:port", "invalid"),
    ("http://[::1", "invalid"),
    ("http://10.12.0.5:5000", None),
    ("http://10.12.0.5:5000/", None),
    ("https://canteen.mine.local", None),
    ("http://128.0.0.1", None),
    ("http://[fd00::5]:5000", None),
    ("http://localhost-canteen.mine.local", None),
])
def test_which_addresses_phones_can_reach(url, problem):
    assert qr.phone_reach_problem(url) == problem


WARNING = {"en": ("Phones cannot open the QR codes of this server",
                  "<code>CANTEEN_PUBLIC_URL=http://<the server's intranet address>:5000</code>"),
           "zh_CN": ("手机打不开本服务器生成的二维码", "<code>CANTEEN_PUBLIC_URL=http://<服务器的内网地址>:5000</code>")}
WHY = {"unset": {"en": "is not set", "zh_CN": "没有设置 CANTEEN_PUBLIC_URL"},
       "loopback": {"en": "a loopback address", "zh_CN": "本机回环地址"},
       "invalid": {"en": "not a web address", "zh_CN": "这不是网址"}}


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
@pytest.mark.parametrize("public_url, problem", [
    ("", "unset"), ("http://127.0.0.1:5000", "loopback"), ("http://localhost:5000", "loopback"),
    ("http://[::1]:5000", "loopback"), ("canteen.local:5000", "invalid"), ("http://10.12.0.5:5000", None)])
def test_cards_and_kiosks_pages_say_when_phones_cannot_reach_the_codes(sqlite_app, staff_sqlite, lang,
                                                                        public_url, problem):
    sqlite_app.config["PUBLIC_URL"] = public_url
    for user, path in (("manager", "/kitchen/cards"), ("admin", "/admin/kiosks")):
        page = html.unescape(signed_in(sqlite_app, user, lang=lang).get(path).get_data(as_text=True))
        if problem is None:
            assert 'data-testid="phone-reach"' not in page
            continue
        heading, how = WARNING[lang]
        assert heading in page and how in page, (user, lang)
        assert WHY[problem][lang] in page, (user, lang)
        shown = public_url or "http://localhost"  # unset: the address this page was opened with
        assert shown in page


@pytest.fixture
def staff_sqlite(sqlite_app):
    from .conftest import make_user
    with sqlite_app.app_context(), database.connection_context():
        make_user("manager", "manager")
        make_user("admin", "admin")


def test_printed_cards_and_the_svg_carry_the_url_in_text_and_the_code_at_the_cards_size(sqlite_app,
                                                                                         staff_sqlite):
    sqlite_app.config["PUBLIC_URL"] = "http://10.12.0.5:5000"
    card = in_db(sqlite_app, lambda: QrCard.create(label="<b>7号桌</b>", location="一楼"))
    with sqlite_app.test_request_context():
        url = "http://10.12.0.5:5000/p/" + qr.card_token(card.id)
    client = signed_in(sqlite_app, "manager")
    for layout in ("a4", "a6"):
        page = client.get(f"/kitchen/cards/print?layout={layout}").get_data(as_text=True)
        shown = re.search(r'<p class="card-url">(.*?)</p>', page).group(1)
        assert shown.replace("<wbr>", "") == url, layout

    response = client.get(f"/kitchen/cards/{card.id}.svg")
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.get_data())  # well-formed XML, the label escaped
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("105mm", "148mm", "0 0 105 148")
    code = root.find(f"{SVG}svg")
    x, y, width, height = (float(code.get(a)) for a in ("x", "y", "width", "height"))
    assert width == height == 70 and 0 < x and x + width < 105 and 0 < y and y + height < 148
    assert code.get("viewBox")  # its modules scale into those 70 mm
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "<b>7号桌</b> · 一楼" in texts
    assert url in texts
    url_text = next(t for t in root.iter(f"{SVG}text") if "".join(t.itertext()) == url)
    assert float(url_text.get("y")) > y + height  # under the code


def test_revoking_a_card_asks_first_and_needs_post_and_csrf(app, staff):
    card = in_db(app, lambda: QrCard.create(label="12号桌", location="一楼"))
    client = signed_in(app, "manager")
    listing = client.get("/kitchen/cards").get_data(as_text=True)
    assert f'action="/kitchen/cards/{card.id}/revoke"' not in listing  # no one-click revoke
    assert f'href="/kitchen/cards/{card.id}/revoke"' in listing

    ask = client.get(f"/kitchen/cards/{card.id}/revoke")
    body = ask.get_data(as_text=True)
    assert ask.status_code == 200 and "Revoke card 12号桌?" in body and "Votes already cast" in body
    assert 'method="post"' in body and 'name="csrf_token"' in body and "<script" not in body
    assert in_db(app, lambda: QrCard.get_by_id(card.id).revoked_at) is None

    refused = client.post(f"/kitchen/cards/{card.id}/revoke", data={})
    assert refused.status_code == 400
    assert in_db(app, lambda: QrCard.get_by_id(card.id).revoked_at) is None

    token = csrf_token(client, f"/kitchen/cards/{card.id}/revoke")
    done = client.post(f"/kitchen/cards/{card.id}/revoke", data={"csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"].endswith("/kitchen/cards")
    assert in_db(app, lambda: QrCard.get_by_id(card.id).revoked_at) is not None
    assert in_db(app, lambda: AuditEntry.select().where(AuditEntry.action == "card.revoke").count()) == 1
    # asking again about a revoked card says so instead of offering to revoke it twice
    again = client.get(f"/kitchen/cards/{card.id}/revoke", follow_redirects=True).get_data(as_text=True)
    assert "Card 12号桌 no longer works." in again
    assert client.get("/kitchen/cards/999/revoke").status_code == 404
    assert client.get(f"/kitchen/cards/{card.id}.svg").status_code == 404


def test_the_confirm_page_reads_in_chinese(sqlite_app, staff_sqlite):
    card = in_db(sqlite_app, lambda: QrCard.create(label="3号桌"))
    body = signed_in(sqlite_app, "manager", lang="zh_CN").get(f"/kitchen/cards/{card.id}/revoke").get_data(as_text=True)
    assert "撤销桌卡 3号桌？" in body and "确认撤销" in body and "取消" in body


def test_the_configured_address_is_shown_escaped(sqlite_app, staff_sqlite):
    sqlite_app.config["PUBLIC_URL"] = 'http://127.0.0.1:5000/"><script>alert(1)</script>'
    page = signed_in(sqlite_app, "manager").get("/kitchen/cards").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
