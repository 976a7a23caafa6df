"""The back office through its forms: sign-in, dishes, menus, accounts, kiosks, tokens, audit."""
import datetime as dt
import io

import pytest
from PIL import Image
from werkzeug.test import EnvironBuilder

from canteen import audit
from canteen.audit import AuditEntry
from canteen.clock import clock
from canteen.feedback.models import Rating
from canteen.models import Dish, MenuItem, database
from canteen.office.accounts import ApiToken, Kiosk, User

from .conftest import PASSWORD, csrf_token, sign_in, signed_in

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def in_db(app, fn):
    with app.app_context(), database.connection_context():
        return fn()


def jpeg_bytes(size=(64, 48), fmt="JPEG"):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, fmt)
    return buffer.getvalue()


def post_form(client, path, data, page=None):
    data = dict(data, csrf_token=csrf_token(client, page or path))
    builder = EnvironBuilder(path=path, method="POST", data=data, content_type="multipart/form-data")
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:  # the test client spools big bodies to a temporary file: close it
        environ["wsgi.input"].close()
        builder.close()


def dish_data(**overrides):
    data = {"name_zh": "土豆丝", "name_en": "Potato strips", "price": "4.50", "category": "vegetable",
            "trial_start": "", "trial_end": ""}
    data.update(overrides)
    return data


# --- signing in ---------------------------------------------------------------

def test_sign_in_and_out(app, staff):
    client = app.test_client()
    assert sign_in(client, "manager").headers["Location"] == "/office/"
    assert client.get("/office/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/office/")})
    assert client.get("/office/").status_code == 302


def test_wrong_password_is_refused_and_then_throttled(app, staff):
    client = app.test_client()
    for _ in range(5):
        r = sign_in(client, "manager", "wrong-password")
        assert r.status_code == 401
    r = sign_in(client, "manager")  # the right password, but too late
    assert r.status_code == 429
    assert in_db(app, lambda: User.by_username("manager").last_login_at) is None
    assert sign_in(app.test_client(), "admin").status_code == 302  # another account is unaffected


def test_next_only_leads_inside_the_app(app, staff):
    client = app.test_client()
    token = csrf_token(client)
    r = client.post("/login?next=//evil.example/x", data={"csrf_token": token, "username": "admin",
                                                           "password": PASSWORD})
    assert r.headers["Location"] == "/office/"
    client = app.test_client()
    r = client.post("/login?next=/admin/users", data={"csrf_token": csrf_token(client),
                                                      "username": "admin", "password": PASSWORD})
    assert r.headers["Location"] == "/admin/users"


def test_a_post_without_the_csrf_token_is_refused(app, staff):
    client = signed_in(app, "manager")
    r = client.post("/kitchen/dishes/new", data=dish_data())
    assert r.status_code == 400
    r = client.post("/kitchen/dishes/new", data=dish_data(), headers={"Origin": "http://evil.example"})
    assert r.status_code == 400
    assert in_db(app, lambda: Dish.select().count()) == 0


def test_a_form_opened_two_hours_ago_is_still_good_while_its_sign_in_lasts(app, staff):
    """A delivery form opened before the lorry came: its token was signed two hours ago (the
    same token, its timestamp moved back), the sign-in is alive, so the save goes through."""
    import time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class TwoHoursAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 2 * 3600

    client = signed_in(app, "manager")
    fresh = csrf_token(client, "/kitchen/dishes/new")
    raw = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").loads(fresh)
    old = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=TwoHoursAgo).dumps(raw)
    r = client.post("/kitchen/dishes/new", data=dict(dish_data(), csrf_token=old))
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    assert in_db(app, lambda: Dish.select().count()) == 1


def test_change_password(app, staff):
    client = signed_in(app, "union")
    r = post_form(client, "/account/password", {"current": "nope", "new": "a-new-password-1",
                                                 "confirm": "a-new-password-1"})
    assert r.status_code == 200 and in_db(app, lambda: User.by_username("union").check_password(PASSWORD))
    r = post_form(client, "/account/password", {"current": PASSWORD, "new": "short", "confirm": "short"})
    assert r.status_code == 200 and "at least 12" in r.get_data(as_text=True)  # pages in English
    r = post_form(client, "/account/password", {"current": PASSWORD, "new": "a-new-password-1",
                                                "confirm": "a-new-password-1"})
    assert r.status_code == 302
    assert client.get("/office/").status_code == 200  # this session goes on
    assert sign_in(app.test_client(), "union", "a-new-password-1").status_code == 302


# --- dishes -------------------------------------------------------------------

def test_manager_adds_a_dish_with_a_photo(app, staff):
    client = signed_in(app, "manager")
    data = dish_data(photo=(io.BytesIO(jpeg_bytes((3000, 2000))), "dish.jpg"))
    r = post_form(client, "/kitchen/dishes/new", data)
    assert r.status_code == 302, r.get_data(as_text=True)
    dish = in_db(app, lambda: Dish.get(Dish.name_zh == "土豆丝"))
    assert (dish.name_en, dish.price_fen, dish.category) == ("Potato strips", 450, "vegetable")
    photo = client.get(f"/photos/{dish.photo}")
    with Image.open(io.BytesIO(photo.data)) as img:
        assert img.format == "JPEG" and max(img.size) <= 1200  # re-encoded and scaled down
    photo.close()
    entry = in_db(app, lambda: AuditEntry.get(AuditEntry.action == "dish.create"))
    assert entry.actor == "user:manager" and entry.details()["after"]["price_fen"] == 450


@pytest.mark.parametrize("upload,words", [
    ((b"<svg onload=alert(1)></svg>", "x.svg"), "not a JPEG"),
    ((b"%PDF-1.4 not an image", "menu.pdf"), "not a JPEG"),
    ((b"\x89PNG\r\n\x1a\n broken", "broken.png"), "not a JPEG"),
    ((b"", "empty.jpg"), "empty"),
    ((b"", ""), None),  # no file chosen: saved without a photo
])
def test_bad_uploads_are_explained_beside_the_field(app, staff, upload, words):
    client = signed_in(app, "manager")
    data = dish_data(photo=(io.BytesIO(upload[0]), upload[1]))
    r = post_form(client, "/kitchen/dishes/new", data)
    if words is None:
        assert r.status_code == 302
        assert in_db(app, lambda: Dish.get().photo) is None
    else:
        assert r.status_code == 422 and words in r.get_data(as_text=True)
        assert in_db(app, lambda: Dish.select().count()) == 0


def test_oversized_upload_is_refused(app, staff):
    client = signed_in(app, "manager")
    big = jpeg_bytes() + b"\0" * (5 * 1024 * 1024)
    r = post_form(client, "/kitchen/dishes/new", dish_data(photo=(io.BytesIO(big), "big.jpg")))
    assert r.status_code == 422 and "5 MB" in r.get_data(as_text=True)
    huge = b"\0" * (9 * 1024 * 1024)
    r = post_form(client, "/kitchen/dishes/new", dish_data(photo=(io.BytesIO(huge), "huge.jpg")))
    assert r.status_code == 413
    assert in_db(app, lambda: Dish.select().count()) == 0


@pytest.mark.parametrize("change,field_words", [
    ({"price": "-1"}, "between 0 and 9999"),
    ({"price": "abc"}, "price"),
    ({"price": "1.234"}, "two decimals"),
    ({"price": ""}, "Enter a price"),
    ({"name_zh": ""}, "required"),
    ({"name_en": "x" * 81}, "80"),
    ({"category": "weapons"}, "Not a valid choice"),
    ({"trial_start": "2026-12-10", "trial_end": "2026-12-01"}, "cannot end before"),
    ({"trial_end": "2026-12-01"}, "first day of the trial"),
    ({"trial_start": "next week"}, "Not a valid date"),
])
def test_bad_dish_input_is_explained_and_nothing_is_saved(app, staff, change, field_words):
    client = signed_in(app, "manager")
    client.set_cookie("lang", "en")
    r = post_form(client, "/kitchen/dishes/new", dish_data(**change))
    assert r.status_code == 422
    assert field_words.lower() in r.get_data(as_text=True).lower()
    assert 'class="error"' in r.get_data(as_text=True)
    assert in_db(app, lambda: Dish.select().count()) == 0


def test_duplicate_names_are_refused(app, staff):
    client = signed_in(app, "manager")
    assert post_form(client, "/kitchen/dishes/new", dish_data()).status_code == 302
    r = post_form(client, "/kitchen/dishes/new", dish_data(name_en="Other"))
    assert r.status_code == 422
    r = post_form(client, "/kitchen/dishes/new", dish_data(name_zh="别的", name_en="potato STRIPS"))
    assert r.status_code == 422
    assert in_db(app, lambda: Dish.select().count()) == 1


def test_html_in_every_field_comes_back_escaped(app, staff):
    client = signed_in(app, "manager")
    r = post_form(client, "/kitchen/dishes/new", dish_data(name_zh=XSS[:60], name_en=XSS[:80]))
    assert r.status_code == 302
    dish = in_db(app, lambda: Dish.get())
    slot = in_db(app, lambda: clock().slot())
    in_db(app, lambda: MenuItem.create(day=slot.day, meal=slot.meal, dish=dish))
    admin = signed_in(app, "admin")
    post_form(admin, "/admin/kiosks", {"name": "ok-name", "location": XSS[:80]}, page="/admin/kiosks")
    post_form(admin, "/admin/tokens", {"name": XSS[:64], "role": "manager"})
    post_form(admin, "/admin/users/new", {"username": "bob", "display_name": XSS[:80], "roles": "union",
                                          "active": "y", "password": "a-long-password"})
    pages = [client.get(p) for p in ("/kitchen/dishes", f"/kitchen/dishes/{dish.id}", "/kitchen/menus",
                                     f"/kitchen/menus/{slot.day}/{slot.meal}")]
    pages += [admin.get(p) for p in ("/admin/kiosks", "/admin/tokens", "/admin/users", "/admin/audit")]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "<script>alert" not in html and "<img src=x" not in html, page.request.path
    api = app.test_client().get("/api/v1/menu/current").get_json()
    assert api["dishes"][0]["name"] == XSS[:60]  # JSON carries the text as it is, for the client to escape


def test_edit_retire_and_restore_a_dish(app, staff):
    client = signed_in(app, "manager")
    post_form(client, "/kitchen/dishes/new", dish_data())
    dish_id = in_db(app, lambda: Dish.get().id)
    r = post_form(client, f"/kitchen/dishes/{dish_id}", dish_data(price="5", trial_start="2026-11-01",
                                                                   trial_end="2026-11-30"))
    assert r.status_code == 302
    dish = in_db(app, lambda: Dish.get_by_id(dish_id))
    assert (dish.price_fen, dish.trial_end) == (500, dt.date(2026, 11, 30))
    post_form(client, f"/kitchen/dishes/{dish_id}/active", {}, page="/kitchen/dishes")
    assert in_db(app, lambda: Dish.get_by_id(dish_id).active) is False
    post_form(client, f"/kitchen/dishes/{dish_id}/active", {}, page="/kitchen/dishes")
    assert in_db(app, lambda: Dish.get_by_id(dish_id).active) is True
    actions = in_db(app, lambda: [e.action for e in AuditEntry.select().order_by(AuditEntry.id)])
    assert [a for a in actions if a.startswith("dish.")] == ["dish.create", "dish.update", "dish.retire",
                                                          "dish.restore"]
    assert actions[0] == "auth.sign_in"


# --- menus --------------------------------------------------------------------

def test_plan_a_meal_and_copy_last_week(app, staff):
    client = signed_in(app, "manager")
    for zh, en in (("米饭", "Rice"), ("面条", "Noodles"), ("馒头", "Bun")):
        post_form(client, "/kitchen/dishes/new", dish_data(name_zh=zh, name_en=en))
    ids = in_db(app, lambda: [d.id for d in Dish.select().order_by(Dish.id)])
    monday = dt.date(2026, 11, 23)
    r = post_form(client, f"/kitchen/menus/{monday}/lunch", {"dishes": [str(ids[2]), str(ids[0])]})
    assert r.status_code == 302
    served = in_db(app, lambda: [d.id for d in Dish.served_on(monday, "lunch")])
    assert served == [ids[2], ids[0]]
    page = client.get("/kitchen/menus?week=2026-11-25").get_data(as_text=True)
    assert "Bun, Rice" in page
    # a week later, one meal already planned: copying fills only the others
    post_form(client, "/kitchen/menus/2026-11-30/dinner", {"dishes": [str(ids[1])]})
    r = post_form(client, "/kitchen/menus/copy", {"week": "2026-11-30"}, page="/kitchen/menus")
    assert r.status_code == 302
    assert in_db(app, lambda: [d.id for d in Dish.served_on(dt.date(2026, 11, 30), "lunch")]) == [ids[2], ids[0]]
    assert in_db(app, lambda: [d.id for d in Dish.served_on(dt.date(2026, 11, 30), "dinner")]) == [ids[1]]


def test_unknown_dish_in_a_menu_is_refused(app, staff):
    client = signed_in(app, "manager")
    r = post_form(client, "/kitchen/menus/2026-11-23/lunch", {"dishes": ["999"]})
    assert r.status_code == 422
    assert client.get("/kitchen/menus/2026-11-23/brunch").status_code == 404
    assert client.get("/kitchen/menus/someday/lunch").status_code == 404


# --- accounts, kiosks, tokens -------------------------------------------------

def test_admin_creates_and_disables_an_account(app, staff):
    admin = signed_in(app, "admin")
    r = post_form(admin, "/admin/users/new", {"username": "Wang.Li", "display_name": "王力",
                                              "roles": ["union", "manager"], "active": "y",
                                              "password": "union-rep-2026"})
    assert r.status_code == 302
    user = in_db(app, lambda: User.by_username("wang.li"))
    assert user.role_set == {"union", "manager"}
    client = app.test_client()
    assert sign_in(client, "wang.li", "union-rep-2026").status_code == 302
    r = post_form(admin, f"/admin/users/{user.id}", {"username": "wang.li", "roles": ["union"],
                                                     "display_name": "王力"})  # active unticked
    assert r.status_code == 302
    assert client.get("/office/").status_code == 302  # signed out at once
    assert sign_in(app.test_client(), "wang.li", "union-rep-2026").status_code == 401


def test_account_form_errors(app, staff):
    admin = signed_in(app, "admin")
    for data, words in [
        ({"username": "manager", "roles": "union", "password": "long-enough-pw"}, "taken"),
        ({"username": "new one", "roles": "union", "password": "long-enough-pw"}, "Letters, digits"),
        ({"username": "newone", "password": "long-enough-pw"}, "at least one role"),
        ({"username": "newone", "roles": "union"}, "needs a password"),
        ({"username": "newone", "roles": "union", "password": "short"}, "at least 12"),
        ({"username": "newone", "roles": "root", "password": "long-enough-pw"}, "not a valid choice"),
    ]:
        admin.set_cookie("lang", "en")
        r = post_form(admin, "/admin/users/new", dict(data, active="y"))
        assert r.status_code == 422 and words.lower() in r.get_data(as_text=True).lower(), (data, words)
    admin_id = in_db(app, lambda: User.by_username("admin").id)
    r = post_form(admin, f"/admin/users/{admin_id}", {"username": "admin", "roles": "union", "active": "y"})
    assert r.status_code == 422 and "own administrator role" in r.get_data(as_text=True)


def test_kiosk_pairing_naming_and_revocation(app, staff, dishes):
    admin = signed_in(app, "admin")
    r = post_form(admin, "/admin/kiosks", {"name": "lamp-room", "location": "灯房"})
    html = r.get_data(as_text=True)
    code = html.split('data-testid="pairing-code">')[1].split("<")[0]
    assert len(code) == 8
    screen = app.test_client()
    r = post_form(screen, "/kiosk/pair", {"code": "WRONG123"})
    assert r.status_code == 422
    r = post_form(screen, "/kiosk/pair", {"code": code.lower()})
    assert r.status_code == 302 and screen.get_cookie("canteen_kiosk").http_only
    assert post_form(app.test_client(), "/kiosk/pair", {"code": code}).status_code == 422  # one time only
    vote = {"dish_id": dishes["rice"].id, "score": 4, "client_id": "paired-vote-1"}
    assert screen.post("/api/v1/ratings", json=vote, headers={"X-Canteen-Kiosk": "spoofed"}).status_code == 201
    assert in_db(app, lambda: Rating.get().kiosk) == "lamp-room"
    kiosk = in_db(app, lambda: Kiosk.get(Kiosk.name == "lamp-room"))
    assert kiosk.last_seen_at is not None and kiosk.status == "paired"
    assert 'data-card-reader="0"' in screen.get("/kiosk").get_data(as_text=True)
    post_form(admin, f"/admin/kiosks/{kiosk.id}/card-reader", {}, page="/admin/kiosks")
    assert 'data-card-reader="1"' in screen.get("/kiosk").get_data(as_text=True)
    post_form(admin, f"/admin/kiosks/{kiosk.id}/revoke", {}, page="/admin/kiosks")
    r = screen.post("/api/v1/ratings", json=dict(vote, client_id="paired-vote-2"))
    assert r.status_code == 403 and "revoked" in r.get_json()["error"]
    assert in_db(app, lambda: Rating.select().count()) == 1


def test_api_tokens_are_shown_once_stored_hashed_and_revocable(app, staff):
    admin = signed_in(app, "admin")
    r = post_form(admin, "/admin/tokens", {"name": "cold-room-probe", "role": "manager"})
    secret = r.get_data(as_text=True).split('data-testid="token-secret">')[1].split("<")[0]
    token = in_db(app, lambda: ApiToken.get())
    assert secret.startswith("ct_") and token.token_hash != secret and secret not in token.token_hash
    assert secret not in admin.get("/admin/tokens").get_data(as_text=True)
    machine = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert machine.get("/api/v1/menu/current", headers=headers).status_code == 200
    post_form(admin, f"/admin/tokens/{token.id}/revoke", {}, page="/admin/tokens")
    r = machine.get("/api/v1/menu/current", headers=headers)
    assert r.status_code == 401 and r.get_json()["error"]


def test_an_error_in_the_back_office_leads_back_to_the_back_office(app, staff):
    """QA: every error page offered "Back to the kiosk", so a manager whose form had expired
    (400) or who followed an old link (404) was sent to the kiosk (outside demo mode, the
    pairing page)."""
    manager = signed_in(app, "manager")
    for r in (manager.get("/safety/cooking/99999"), manager.post("/safety/cooking/new", data={"csrf_token": "old"})):
        page = r.get_data(as_text=True)
        assert r.status_code in (400, 404) and 'href="/office/"' in page and 'href="/kiosk"' not in page
    r = app.test_client().get("/kiosk/nothing-here")
    assert r.status_code == 404 and 'href="/kiosk"' in r.get_data(as_text=True)


def test_cli_refuses_a_user_name_the_accounts_page_could_not_edit(app, staff):
    """QA: `create-user "zhang san"` made an account whose every edit on the accounts page
    (disable it, change its roles) failed on the user-name check."""
    runner = app.test_cli_runner()
    for bad in ["zhang san", "<b>li</b>", "王师傅", "a" * 41]:
        r = runner.invoke(args=["create-user", bad, "--role", "union", "--password", "pit-head-2026!x"])
        assert r.exit_code != 0 and "letters, digits" in r.output, (bad, r.output)
    assert in_db(app, lambda: User.select().where(User.username.contains("li")).count()) == 0
    r = runner.invoke(args=["create-user", "Zhang.San_2", "--role", "union", "--password", "pit-head-2026!x"])
    assert r.exit_code == 0, r.output
    user = in_db(app, lambda: User.by_username("zhang.san_2"))
    admin = signed_in(app, "admin")
    r = post_form(admin, f"/admin/users/{user.id}", {"username": user.username, "roles": ["union"]})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert not in_db(app, lambda: User.get_by_id(user.id).active)


def test_cli_creates_the_first_admin_and_tokens(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    r = runner.invoke(args=["create-user", "root", "--role", "admin"], input="first-admin-pw\nfirst-admin-pw\n")
    assert r.exit_code == 0, r.output
    assert runner.invoke(args=["create-user", "root", "--role", "admin", "--password", "x" * 12]).exit_code != 0
    short = runner.invoke(args=["create-user", "u2", "--role", "union", "--password", "short"])
    assert short.exit_code != 0 and ("at least 12" in short.output or "至少" in short.output)
    for bad in ("x" * 65, "  ", "scale\n2"):  # never cut or stored as something else
        refused = runner.invoke(args=["create-token", bad, "--role", "manager"])
        assert refused.exit_code == 2 and "1 to 64 printable characters" in refused.output, bad
    with sqlite_app.app_context(), database.connection_context():
        assert ApiToken.select().count() == 0
    r = runner.invoke(args=["create-token", "scale-1", "--role", "manager"])
    secret = r.output.strip()
    with sqlite_app.app_context(), database.connection_context():
        assert User.by_username("root").check_password("first-admin-pw")
        assert ApiToken.lookup(secret).role == "manager"
    assert sqlite_app.test_client().get("/api/v1/menu/current",
                                        headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_audit_chain_detects_tampering(app, staff):
    in_db(app, lambda: [audit.record("cli", "test.step", "thing", i) for i in range(3)])
    assert in_db(app, audit.verify).ok
    in_db(app, lambda: AuditEntry.update(actor="someone-else").where(AuditEntry.entity_id == "1").execute())
    broken = in_db(app, audit.verify).first
    assert broken == {"problem": "entry_changed",
                      "entry": in_db(app, lambda: AuditEntry.get(AuditEntry.entity_id == "1").id)}
    admin = signed_in(app, "admin")
    page = admin.get("/admin/audit?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "audit check failed" in page and f"audit entry #{broken['entry']} was changed" in page


def test_control_characters_never_reach_the_database(app, staff):
    client = signed_in(app, "manager")
    assert post_form(client, "/kitchen/dishes/new", dish_data(name_zh="测试菜\x00A\x07", name_en="Test\x1bdish")).status_code == 302
    dish = in_db(app, lambda: Dish.get())
    assert (dish.name_zh, dish.name_en) == ("测试菜A", "Testdish")
