"""Configuration, schema migrations, demo data, languages and the kiosk page's promises."""
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from canteen import create_app
from canteen.clock import clock
from canteen.config import ConfigError
from canteen.db import MIGRATIONS
from canteen.feedback.models import Rating
from canteen.models import Dish, MenuItem, database
from canteen.reports.models import Suggestion

from .conftest import close_pool, kiosk_client, make_app, sign_in

ROOT = Path(__file__).resolve().parent.parent


def test_environment_configures_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("CANTEEN_KIOSK_NAME", "12")
    monkeypatch.setenv("CANTEEN_DEMO", "0")
    monkeypatch.setenv("CANTEEN_PORT", "5080")
    monkeypatch.setenv("CANTEEN_MEALS", "lunch=11:00-13:00,dinner=17:00-19:00")
    monkeypatch.setenv("CANTEEN_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("CANTEEN_INSTANCE_PATH", str(tmp_path / "inst"))
    app = create_app()
    try:
        assert app.config["KIOSK_NAME"] == "12" and app.config["DEMO"] is False
        assert app.config["PORT"] == 5080
        assert [w.name for w in app.extensions["canteen_clock"].windows] == ["lunch", "dinner"]
        assert (tmp_path / "env.db").exists()
        assert app.instance_path == str(tmp_path / "inst")
    finally:
        close_pool()


@pytest.mark.parametrize("key,value,words", [
    ("DEMO", "maybe", "CANTEEN_DEMO"),
    ("PORT", "http", "CANTEEN_PORT"),
    ("MEALS", "lunch=11-13", "CANTEEN_MEALS"),
    ("TIMEZONE", "Mars/Olympus", "CANTEEN_TIMEZONE"),
    ("REASON_TAGS", "tasty,Too Salty", "CANTEEN_REASON_TAGS"),
    ("DB_WAIT_SECONDS", "-5", "CANTEEN_DB_WAIT_SECONDS cannot be negative"),
    ("THREADS", "-1", "CANTEEN_THREADS cannot be negative"),
    ("PORT", "70000", "CANTEEN_PORT must be a port number up to 65535"),  # served on 4464 unsaid
    ("SMTP_PORT", "65536", "CANTEEN_SMTP_PORT must be a port number up to 65535"),
])
def test_bad_configuration_stops_start_with_a_clear_message(tmp_path, key, value, words):
    with pytest.raises(ConfigError, match=words):
        make_app(f"sqlite:///{tmp_path}/x.db", tmp_path, **{key: value})


def test_secret_key_is_generated_once_per_installation(tmp_path):
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path}/s.db", "DEMO": False,
                "INSTANCE_PATH": str(tmp_path / "inst")}
    first = create_app(dict(settings)).config["SECRET_KEY"]
    second = create_app(dict(settings)).config["SECRET_KEY"]
    other = create_app(dict(settings, INSTANCE_PATH=str(tmp_path / "other"))).config["SECRET_KEY"]
    close_pool()
    assert first == second and first != other and len(first) >= 32
    assert (tmp_path / "inst" / "secret_key").stat().st_mode & 0o077 == 0


def test_migrations_are_recorded_and_data_survives_an_upgrade(app):
    with app.app_context(), database.connection_context():
        names = [r[0] for r in database.execute_sql("SELECT name FROM schema_migration").fetchall()]
        assert names == sorted(p.stem for p in MIGRATIONS.glob("[0-9]*.py"))
        Dish.create(name_zh="花卷", name_en="Flower roll", price_fen=80)
    upgraded = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "DEMO": False,
                           "INSTANCE_PATH": app.instance_path})
    with upgraded.app_context(), database.connection_context():
        assert [d.name_zh for d in Dish.select()] == ["花卷"]


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        pragma = lambda name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") >= 1000
        assert pragma("synchronous") == 2  # FULL: an acknowledged vote survives a power cut


def test_demo_seeds_a_living_canteen_once(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/demo.db", tmp_path, DEMO=True)
    with app.app_context(), database.connection_context():
        dishes, ratings = Dish.select().count(), Rating.select().count()
        today = clock().today()
        week = [today + dt.timedelta(days=d) for d in range(7)]
        planned = set(MenuItem.select(MenuItem.day, MenuItem.meal).where(MenuItem.day.in_(week)).tuples())
        trial = Dish.select().where(Dish.trial_start.is_null(False)).count()
        oldest = Rating.select(Rating.day).order_by(Rating.day).first().day
    assert 20 <= dishes <= 30
    assert 5000 <= ratings <= 30000  # eight weeks of a busy canteen, enough for every report
    assert planned == {(d, m) for d in week for m in ("breakfast", "lunch", "dinner", "night")}
    assert trial >= 1
    assert (today - oldest).days >= 49
    for username in ("admin", "manager", "union"):  # one demo account per role
        assert sign_in(app.test_client(), username, "canteen-demo").status_code == 302
    # the representatives' suggestions in every state; the done ones show what they produced
    from canteen import audit
    from canteen.reports.suggestions import outcome
    with app.app_context(), database.connection_context():
        suggestions = list(Suggestion.select().order_by(Suggestion.id))
        statuses = sorted(s.status for s in suggestions)
        done = {outcome(s, today, "en")["result"] for s in suggestions if s.status == "done"}
        accepted = [s for s in suggestions if s.status == "accepted"]
        declined = [s for s in suggestions if s.status == "declined"]
        assert audit.verify().ok  # bound into the audit chain like every suggestion
    assert statuses == ["accepted", "declined", "done", "done", "open"] and done == {"kept", "better"}
    assert all(s.plan and s.due > today for s in accepted) and all(s.reason for s in declined)
    union = app.test_client()
    assert sign_in(union, "union", "canteen-demo").status_code == 302
    page = union.get(f"/reports/suggestions/{suggestions[0].id}?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "What it produced: Kept on the menu" in page and "Counted votes" in page
    menu = kiosk_client(app).get("/api/v1/menu/current?lang=en").get_json()
    asked = [a for a in menu["announcements"] if a["kind"] == "suggestion"]
    assert {a["dish"] for a in asked} == {"Big plate chicken", "Braised pork belly"}
    make_app(f"sqlite:///{tmp_path}/demo.db", tmp_path, DEMO=True)  # a second start adds nothing
    with app.app_context(), database.connection_context():
        assert (Dish.select().count(), Rating.select().count()) == (dishes, ratings)
        assert Suggestion.select().count() == len(suggestions)
    close_pool()


def test_demo_off_leaves_the_database_empty(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        assert Dish.select().count() == 0 and Suggestion.select().count() == 0


def test_every_ui_string_has_a_chinese_translation():
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0]
             for msg in extract_from_dir(str(ROOT), method_map=[("canteen/**.py", "python"),
                                                                ("templates/**.html", "jinja2")],
                                          keywords={"_": None, "_l": None, "gettext": None,
                                                    "lazy_gettext": None})}
    with open(ROOT / "canteen/translations/zh_CN/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert found and found <= translated, sorted(found - translated)


def test_kiosk_page_is_chinese_by_default_and_english_on_request(sqlite_app):
    client = kiosk_client(sqlite_app)
    page = client.get("/kiosk", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "今天吃了什么" in page and 'aria-label="5 很好"' in page
    r = client.get("/kiosk?lang=en")
    assert r.status_code == 302 and "lang=en" in r.headers["Set-Cookie"]
    page = client.get("/kiosk").get_data(as_text=True)
    assert "What did you eat" in page and 'aria-label="5 Very good"' in page
    assert client.get("/kiosk?lang=xx").headers.get("Set-Cookie") is None


def test_kiosk_page_loads_nothing_from_outside_and_every_asset_is_served(sqlite_app):
    client = kiosk_client(sqlite_app)
    page = client.get("/kiosk").get_data(as_text=True)
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs and not [r for r in refs if "//" in r]
    for ref in refs:
        with client.get(ref) as r:  # file responses stream: close them
            assert r.status_code == 200, ref
    assert client.get("/").headers["Location"].endswith("/kiosk")


def test_pages_carry_security_headers_and_html_errors(sqlite_app):
    client = sqlite_app.test_client()
    r = client.get("/kiosk")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "<html" in r.get_data(as_text=True)


def test_openapi_documents_every_api_route(sqlite_app):
    spec = sqlite_app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {("/api/v1" + path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    routes = {(rule.rule, method) for rule in sqlite_app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1") for method in rule.methods - {"HEAD", "OPTIONS"}}
    routes = {(re.sub(r"<(?:[^>]*:)?(\w+)>", r"{\1}", path), m) for path, m in routes}
    from canteen.safety.schema import KINDS
    routes = {(path.replace("{kind_name}", kind), m) for path, m in routes for kind in KINDS}  # one path per kind
    from canteen.safety.registers import REGISTERS
    routes = {(path.replace("{register_name}", name), m) for path, m in routes for name in REGISTERS}  # and register
    assert routes == documented


def test_openapi_log_kinds_follow_logs_toml(sqlite_app):
    """The shipped document is what `python -m canteen.safety.openapi` makes from logs.toml."""
    from canteen.safety.openapi import DOCUMENT, refresh
    from canteen.safety.schema import KINDS
    shipped = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    assert refresh(shipped) == shipped
    schemas = sqlite_app.test_client().get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name, kind in KINDS.items():
        documented = schemas[f"Safety_{name}"]
        assert set(documented["properties"]) == {f.name for f in kind.fields} | {"occurred_at"}, name
        assert set(documented["required"]) == {f.name for f in kind.fields if f.required}, name
    procurement = schemas["Safety_procurement"]
    # quarantine: for meat and poultry, or anything marked livestock/poultry, unless rejected
    unless_rejected = {"not": {"properties": {"accepted": {"enum": [False]}}, "required": ["accepted"]}}
    assert {"if": {"anyOf": [
                {"allOf": [{"properties": {"category": {"enum": ["meat", "poultry"]}}, "required": ["category"]},
                           unless_rejected]},
                {"allOf": [{"properties": {"livestock_poultry": {"enum": [True]}}, "required": ["livestock_poultry"]},
                           unless_rejected]}]},
            "then": {"required": ["quarantine_checked"]}} in procurement["allOf"]
    assert procurement["properties"]["item"]["minLength"] == 1


def test_the_served_document_lists_this_installations_tags(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/c.db", tmp_path, REASON_TAGS="cold,too_salty", REPLAY_MAX_DAYS=3)
    rating = app.test_client().get("/api/v1/openapi.json").get_json()["components"]["schemas"]["RatingIn"]
    assert rating["properties"]["tags"]["items"]["enum"] == ["cold", "too_salty"]
    assert "CANTEEN_REPLAY_MAX_DAYS (3)" in rating["properties"]["voted_at"]["description"]
    close_pool()


def test_a_page_cap_too_small_for_the_database_stops_start_with_a_clear_message(tmp_path):
    """Migrations cannot fit in 50 pages: the operator reads which setting, not a traceback."""
    with pytest.raises(ConfigError, match="CANTEEN_SQLITE_MAX_PAGE_COUNT=50 pages is too few"):
        make_app(f"sqlite:///{tmp_path}/x.db", tmp_path, SQLITE_MAX_PAGE_COUNT=50)


def test_an_upgrade_recompiles_a_catalog_even_when_the_old_mo_is_newer(tmp_path):
    """The previous release compiled its .mo into the instance folder; the new release's .po
    may carry an older time (copied keeping times, a package): its strings must still show."""
    import io
    import os

    from babel.messages.mofile import read_mo, write_mo
    from babel.messages.pofile import read_po

    from canteen.i18n import CATALOGS, compile_catalogs

    po = CATALOGS / "zh_CN/LC_MESSAGES/messages.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    wanted = catalog["The time cannot be in the future"].string
    del catalog["The time cannot be in the future"]  # the old release did not have it
    mo = tmp_path / "zh_Hans_CN/LC_MESSAGES/messages.mo"
    mo.parent.mkdir(parents=True)
    with mo.open("wb") as f:
        write_mo(f, catalog)
    later = po.stat().st_mtime + 3600
    os.utime(mo, (later, later))
    compile_catalogs(tmp_path)
    compiled = read_mo(io.BytesIO(mo.read_bytes()))
    assert compiled["The time cannot be in the future"].string == wanted
    before = mo.stat().st_mtime_ns
    compile_catalogs(tmp_path)  # unchanged .po: not compiled again
    assert mo.stat().st_mtime_ns == before
