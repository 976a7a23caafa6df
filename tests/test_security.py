"""Secure by default: a real installation has no way in (issue 15).

Demo accounts, redirects after sign-in, sessions that really end, throttling that slows an
attacker without locking the owner out, passwords, uploads, exports, secrets and headers.
"""
import datetime as dt
import io
import json
import statistics
import threading
import time
import uuid

import pytest
from click.testing import CliRunner
from PIL import Image
from werkzeug.serving import make_server

from canteen import create_app
from canteen.audit import AuditEntry
from canteen.cells import formula_safe
from canteen.config import ConfigError
from canteen.demo import DEMO_PASSWORD
from canteen.feedback.models import Rating
from canteen.models import AppSetting, Dish, database
from canteen.office.accounts import (
    ApiToken,
    Kiosk,
    LoginAttempt,
    User,
    UserSession,
    validate_new_password,
)
from canteen.office.auth import check_password
from canteen.photos import PhotoError, save_photo

from .conftest import (
    PASSWORD,
    close_pool,
    csrf_token,
    make_app,
    make_user,
    require,
    sign_in,
    signed_in,
)
from .test_back_office import in_db, post_form


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


# --- demo accounts in a real installation -------------------------------------------------

def test_cli_commands_never_seed_the_demo(tmp_path, monkeypatch):
    """`flask --app app create-user` on a fresh install with CANTEEN_DEMO left at 1."""
    monkeypatch.setenv("CANTEEN_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CANTEEN_SECRET_KEY", "x" * 32)
    monkeypatch.delenv("CANTEEN_DEMO", raising=False)
    from flask.cli import FlaskGroup

    group = FlaskGroup(create_app=lambda: create_app())
    result = CliRunner().invoke(group, ["create-user", "boss", "--role", "admin", "--password",
                                        "a-long-own-password"])
    assert result.exit_code == 0, result.output
    app = make_app(f"sqlite:///{tmp_path}/instance/canteen.db", tmp_path, DEMO=False)
    with app.app_context(), database.connection_context():
        assert Dish.select().count() == 0
        assert [u.username for u in User.select()] == ["boss"]
        assert AppSetting.read("demo") == "0"  # served as a real installation: it remembers
    close_pool()
    # … and a later start with the demo switched on does not turn it into one
    app = make_app(f"sqlite:///{tmp_path}/instance/canteen.db", tmp_path, DEMO=True)
    with app.app_context(), database.connection_context():
        assert Dish.select().count() == 0 and User.select().count() == 1
    close_pool()


def test_serving_without_demo_refuses_demo_passwords_until_remove_demo(tmp_path):
    url = f"sqlite:///{tmp_path}/canteen.db"
    demo_app = make_app(url, tmp_path, DEMO=True)
    with demo_app.app_context(), database.connection_context():
        make_user("realboss", "admin", password="the-real-boss-pw")
    close_pool()
    with pytest.raises(ConfigError) as refused:
        make_app(url, tmp_path, DEMO=False)
    assert "remove-demo" in str(refused.value) and "admin" in str(refused.value)
    close_pool()
    # the CLI still loads the app (it is how one fixes it) and never refuses
    import click
    from flask.cli import ScriptInfo

    with click.Context(click.Command("remove-demo"), info_name="remove-demo", obj=ScriptInfo()):
        fixing = make_app(url, tmp_path, DEMO=False)  # a CLI command loading the app
    result = fixing.test_cli_runner().invoke(args=["remove-demo"])
    assert result.exit_code == 0 and "Deleted account admin" in result.output, result.output
    close_pool()
    app = make_app(url, tmp_path, DEMO=False)  # now it starts
    with app.app_context(), database.connection_context():
        assert [u.username for u in User.select()] == ["realboss"]
        assert AppSetting.read("demo") == "0"
        assert "user.delete" in [e.action for e in AuditEntry.select()]
    assert sign_in(app.test_client(), "admin", DEMO_PASSWORD).status_code == 401
    close_pool()


def test_demo_on_postgresql_takes_new_votes(postgres_url, tmp_path):
    from .conftest import reset_postgres
    close_pool()
    reset_postgres(postgres_url)
    app = make_app(postgres_url, tmp_path, DEMO=True)
    client = app.test_client()
    menu = client.get("/api/v1/menu/current").get_json()
    dish = menu["dishes"][0]["id"] if menu["dishes"] else None
    with app.app_context(), database.connection_context():
        before = Rating.select().count()
        # the next ordinary insert gets an id past the demo's (no "rating_pkey" collision)
        if dish is None:
            dish = Dish.select().first().id
        rating = Rating.create(dish=dish, score=4, channel="kiosk", client_id="after-demo-1",
                               day=dt.date.today(), meal="lunch", created_at=dt.datetime.utcnow(),
                               voted_at=dt.datetime.utcnow())
        assert rating.id > before and Rating.select().count() == before + 1
    close_pool()


# --- open redirect ------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0a/x", "//evil.example", "/\\evil.example",
                                    "https://evil.example/", "/%5C/evil.example", " //evil.example",
                                    "/%0d%0a/evil.example", "javascript:alert(1)", "%2F%2Fevil.example"])
def test_sign_in_never_redirects_off_site(sqlite_app, target):
    with sqlite_app.app_context(), database.connection_context():
        make_user("manager", "manager")
    client = sqlite_app.test_client()
    r = client.post(f"/login?next={target}", data={"csrf_token": csrf_token(client), "username": "manager",
                                                   "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/office/"


def test_sign_in_follows_a_same_site_path(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        make_user("manager", "manager")
    client = sqlite_app.test_client()
    r = client.post("/login?next=/kitchen/dishes%3Fall%3D1", data={
        "csrf_token": csrf_token(client), "username": "manager", "password": PASSWORD})
    assert r.headers["Location"] == "/kitchen/dishes?all=1"


# --- sessions end on the server -----------------------------------------------------------

def test_a_cookie_copied_before_sign_out_no_longer_works(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        make_user("manager", "manager")
    client = signed_in(sqlite_app, "manager")
    stolen = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": csrf_token(client, "/office/")})
    thief = sqlite_app.test_client()
    thief.set_cookie("session", stolen)
    r = thief.get("/office/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize("column, age", [("last_seen_at", dt.timedelta(minutes=31)),
                                         ("created_at", dt.timedelta(hours=12, minutes=1))])
def test_sessions_lapse_when_idle_and_at_their_maximum_age(sqlite_app, column, age):
    with sqlite_app.app_context(), database.connection_context():
        make_user("manager", "manager")
    client = signed_in(sqlite_app, "manager")
    assert client.get("/office/").status_code == 200
    past = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - age
    in_db(sqlite_app, lambda: UserSession.update({getattr(UserSession, column): past}).execute())
    r = client.get("/office/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


# --- throttling that does not lock the owner out ------------------------------------------

def sign_in_from(app, address, username, password):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = csrf_token(client)
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password})


def test_an_attackers_guesses_do_not_lock_the_owner_out(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        make_user("admin", "admin")
    statuses = [sign_in_from(sqlite_app, "203.0.113.66", "admin", f"guess-{i}").status_code for i in range(100)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    # the attacker's right guess is refused too, from that address
    assert sign_in_from(sqlite_app, "203.0.113.66", "admin", PASSWORD).status_code == 429
    assert sign_in_from(sqlite_app, "198.51.100.7", "admin", PASSWORD).status_code == 302
    assert in_db(sqlite_app, lambda: LoginAttempt.select().count()) == 5  # refused tries checked nothing


def test_failures_sign_ins_and_sign_outs_are_audited(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        make_user("manager", "manager")
    sign_in_from(sqlite_app, "198.51.100.7", "manager", "wrong-password!")
    sign_in_from(sqlite_app, "198.51.100.7", "nobody", "wrong-password!")
    client = signed_in(sqlite_app, "manager")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/office/")})
    entries = in_db(sqlite_app, lambda: [(e.action, e.actor, e.details().get("address"))
                                        for e in AuditEntry.select().order_by(AuditEntry.id)])
    assert entries == [("auth.failed", "user:manager", "198.51.100.7"), ("auth.failed", "user:nobody", "198.51.100.7"),
                       ("auth.sign_in", "user:manager", "127.0.0.1"), ("auth.sign_out", "user:manager", "127.0.0.1")]


def test_parallel_guesses_get_no_more_tries_than_the_limit(db_url, tmp_path):
    app = make_app(db_url, tmp_path, WTF_CSRF_ENABLED=False)
    with app.app_context(), database.connection_context():
        make_user("admin", "admin")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    import http.client

    def guess(i, out):
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        conn.request("POST", "/login", body=f"username=admin&password=guess-number-{i}",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        out.append(conn.getresponse().status)
        conn.close()

    try:
        statuses = []
        workers = [threading.Thread(target=guess, args=(i, statuses)) for i in range(40)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        with app.app_context(), database.connection_context():
            from canteen import audit
            broken = audit.verify()  # parallel failures were audited one after another
    finally:
        server.shutdown()
        close_pool()
    assert len(statuses) == 40
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 40
    assert broken.ok, broken.problems


def test_the_current_password_check_is_throttled(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        make_user("union", "union")
    client = signed_in(sqlite_app, "union")
    new = {"new": "another-own-password", "confirm": "another-own-password"}
    statuses = [post_form(client, "/account/password", dict(new, current=f"guess-{i}")).status_code
                for i in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    r = post_form(client, "/account/password", dict(new, current=PASSWORD))
    assert r.status_code == 429 and in_db(sqlite_app, lambda: User.by_username("union").check_password(PASSWORD))


def test_unknown_user_names_take_as_long_to_refuse_as_known_ones(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        user = make_user("admin", "admin")
        user.set_password(PASSWORD)  # the app's own work factor, not the fixtures' cheap one
        user.save()

        def timed(who):
            start = time.perf_counter()
            assert check_password(who, "not-the-password") is False
            return time.perf_counter() - start

        known = statistics.median(timed(user) for _ in range(5))
        unknown = statistics.median(timed(None) for _ in range(5))
    assert unknown > 0.5 * known  # both run one scrypt check (the ratio, not a speed target)


# --- passwords --------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "1234567890", "password12", "123456789012", "password1234",
                                      "canteen-demo", "qwertyuiop12", "abababababab", "short-pw"])
def test_weak_passwords_are_refused(sqlite_app, password):
    with sqlite_app.test_request_context():
        assert validate_new_password("wang", password)


def test_a_long_own_password_is_accepted(sqlite_app):
    with sqlite_app.test_request_context():
        assert validate_new_password("wang", "coal-face-noodles-7") is None


# --- uploads, exports, secrets, files ----------------------------------------------------

def test_a_decompression_bomb_is_refused_before_decoding(tmp_path):
    buffer = io.BytesIO()
    Image.new("1", (8900, 8900)).save(buffer, "PNG", optimize=True)
    assert len(buffer.getvalue()) < 200_000  # tiny on the wire …
    with pytest.raises(PhotoError) as refused:  # … 79 M pixels once decoded
        save_photo(buffer.getvalue(), tmp_path, 5 * 1024 * 1024)
    assert str(refused.value) == "too_many_pixels" and not list(tmp_path.iterdir())


@pytest.mark.parametrize("value", ["=1+1", "\t=HYPERLINK(\"http://x\")", "\r=1", " =1", "\n@SUM(1)", "+1", "-1",
                                   "@x", "\uff1d1+1"])
def test_every_formula_prefix_is_neutralised(value):
    assert formula_safe(value).startswith("'")


def test_plain_text_stays_as_it_is():
    assert formula_safe("臊子面 too salty") == "臊子面 too salty" and formula_safe(5) == 5


def test_the_secret_key_file_is_private_and_an_empty_one_is_refused(tmp_path):
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path}/inst/canteen.db", "DEMO": False,
                "INSTANCE_PATH": str(tmp_path / "inst")}
    create_app(dict(settings))
    close_pool()
    assert (tmp_path / "inst").stat().st_mode & 0o777 == 0o700
    for name in ("secret_key", "canteen.db"):
        assert (tmp_path / "inst" / name).stat().st_mode & 0o077 == 0, name
    (tmp_path / "inst" / "secret_key").write_text("")
    with pytest.raises(ConfigError, match="secret_key"):
        create_app(dict(settings))
    close_pool()
    with pytest.raises(ConfigError, match="CANTEEN_SECRET_KEY"):
        create_app(dict(settings, SECRET_KEY="short"))
    close_pool()


# --- headers -------------------------------------------------------------------------------

def test_back_office_pages_and_exports_are_not_cached(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        make_user("manager", "manager")
    client = signed_in(sqlite_app, "manager")
    for path in ("/office/", "/reports/export/dishes.csv", "/login"):
        r = client.get(path)
        assert r.headers.get("Cache-Control") == "no-store", (path, r.status_code)
    assert "no-store" not in sqlite_app.test_client().get("/kiosk").headers.get("Cache-Control", "")


def test_hsts_only_over_https(sqlite_app):
    assert "Strict-Transport-Security" not in sqlite_app.test_client().get("/login").headers
    r = sqlite_app.test_client().get("/login", base_url="https://canteen.example")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_safety_photos_are_for_signed_in_roles_only(sqlite_app):
    folder = sqlite_app.config["PHOTO_DIR"]
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "JPEG")
    name = save_photo(buffer.getvalue(), folder, 10**6)
    anonymous = sqlite_app.test_client()
    assert anonymous.get(f"/photos/{name}").status_code == 404  # not a dish photo
    assert anonymous.get(f"/safety/files/{name}").status_code == 302
    with sqlite_app.app_context(), database.connection_context():
        make_user("manager", "manager")
    r = signed_in(sqlite_app, "manager").get(f"/safety/files/{name}")
    r.close()
    assert r.status_code == 200 and r.headers["Cache-Control"] == "private, no-store"


def test_405_answers_say_which_methods_are_allowed(sqlite_app):
    r = sqlite_app.test_client().delete("/api/v1/ratings")
    assert r.status_code == 405 and "POST" in r.headers["Allow"] and r.get_json()["error"]
    r = sqlite_app.test_client().put("/login")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]


def paired_kiosk(app, client):
    """Make `client` a paired kiosk (votes outside demo mode come from one)."""
    with app.app_context(), database.connection_context():
        kiosk = Kiosk.create(name=f"exit-{uuid.uuid4().hex[:6]}")
        code = kiosk.new_pairing_code()
        kiosk.save()
        _kiosk, credential = Kiosk.redeem(code)
    client.set_cookie("canteen_kiosk", credential)
    return client


def test_deeply_nested_json_is_a_400_not_a_500(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        _row, secret = ApiToken.issue("scale", "manager")
    body = "[" * 1200 + "]" * 1200
    assert len(body) < 16 * 1024
    client = paired_kiosk(sqlite_app, sqlite_app.test_client())
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    for path in ("/api/v1/safety/storage", "/api/v1/ratings"):
        r = client.post(path, data=body, headers=headers)
        assert r.status_code == 400 and r.get_json()["field"] == "body", (path, r.status_code)
    nested = json.dumps({"a": json.loads("[" * 40 + "]" * 40)})
    r = client.post("/api/v1/safety/storage", data=nested, headers=headers)
    assert r.status_code == 400


# --- the API's parameters are as strict as its document ------------------------------------

def test_api_parameters_are_as_strict_as_the_document(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        _row, secret = ApiToken.issue("scale", "manager")
    client = sqlite_app.test_client()
    token = {"Authorization": f"Bearer {secret}"}
    r = client.get("/api/v1/menu/current?lang=AAA")
    assert r.status_code == 400 and r.get_json()["field"] == "lang"
    r = client.get("/api/v1/safety/storage?to=", headers=token)
    assert r.status_code == 422 and r.get_json()["error"]
    r = paired_kiosk(sqlite_app, sqlite_app.test_client()).post(
        "/api/v1/ratings", json={"dish_id": 1, "score": 5, "client_id": "abcdefgh"}, headers={"X-Canteen-Kiosk": "k" * 65})
    assert r.status_code == 422 and r.get_json()["field"] == "X-Canteen-Kiosk"
    r = client.post("/api/v1/safety/storage/12520910584854143800621137920/amendments",
                    json={"entry": {}, "reason": "typo"}, headers=token)
    assert r.status_code == 404 and r.get_json()["error"]


# --- rate limits shared by every process --------------------------------------------------

def shared_limit_holds(storage_uri, tmp_path):
    """Two apps (as two server processes would be) count against one limit."""
    from canteen.ratelimits import hit

    key = f"addr:test-{uuid.uuid4().hex}"
    apps = [make_app(f"sqlite:///{tmp_path}/canteen.db", tmp_path, RATELIMIT_STORAGE_URI=storage_uri)
            for _ in range(2)]
    waits = []
    for i in range(6):
        with apps[i % 2].app_context():
            waits.append(hit(key, 4))
    close_pool()
    return waits


def test_rate_limits_are_shared_between_processes_by_default(tmp_path):
    waits = shared_limit_holds("", tmp_path)  # instance/ratelimits.db
    assert waits[:4] == [0] * 4 and all(1 <= w <= 61 for w in waits[4:])
    assert (tmp_path / "instance" / "ratelimits.db").exists()


def test_rate_limits_can_live_in_redis(tmp_path):
    """CANTEEN_RATELIMIT_STORAGE_URI=redis://… (CI runs Redis on 127.0.0.1:6379)."""
    import socket

    with socket.socket() as s:
        require(s.connect_ex(("127.0.0.1", 6379)) == 0, "the Redis test needs redis-server on 127.0.0.1:6379")
    waits = shared_limit_holds("redis://127.0.0.1:6379", tmp_path)
    assert waits[:4] == [0] * 4 and all(1 <= w <= 61 for w in waits[4:])
    assert not (tmp_path / "instance" / "ratelimits.db").exists()


def test_remove_demo_with_data_leaves_a_clean_real_installation(tmp_path):
    url = f"sqlite:///{tmp_path}/canteen.db"
    make_app(url, tmp_path, DEMO=True)
    close_pool()
    import click
    from flask.cli import ScriptInfo

    with click.Context(click.Command("remove-demo"), info_name="remove-demo", obj=ScriptInfo()):
        app = make_app(url, tmp_path, DEMO=False)
    assert cli(app, "remove-demo", "--data").exit_code != 0  # asks first; no answer, nothing deleted
    with app.app_context(), database.connection_context():
        assert Dish.select().count() > 0 and User.select().count() == 3
    result = cli(app, "remove-demo", "--data", "--yes")
    assert result.exit_code == 0, result.output
    with app.app_context(), database.connection_context():
        assert (Dish.select().count(), Rating.select().count(), User.select().count()) == (0, 0, 0)
        from canteen.reports.models import Suggestion
        assert Suggestion.select().count() == 0  # the demo's suggestions go with it
        assert AppSetting.read("demo") == "0"
        from canteen import audit
        assert audit.verify().ok  # the trail says what was removed, and still holds together
    assert "not seeded by the demo" in cli(app, "remove-demo", "--data", "--yes").output
    close_pool()


@pytest.mark.parametrize("change", [{"off_floor_cm": "15"}, {"labels_ok": "yes"}, {"temperature": None},
                                    {"expired_found": 1.5}, {"occurred_at": None}, {"unit": "1"},
                                    {"temperature": ""}])
def test_the_api_takes_json_types_as_its_schema_says(change):
    from canteen.safety.schema import KINDS, json_type_errors

    entry = {"unit": 1, "off_floor_cm": 15, "off_wall_cm": 10, "labels_ok": True, "fifo_ok": True,
             "raw_cooked_separated": True, "expired_found": 0, "inspected_by": 1, "temperature": 3.5}
    assert json_type_errors(KINDS["storage"], entry) == {}
    assert set(json_type_errors(KINDS["storage"], dict(entry, **change))) == set(change)
