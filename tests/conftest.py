"""Fixtures: an app on a real database (SQLite file, and PostgreSQL when configured).

PostgreSQL and browser tests skip outside CI with a message saying how to enable them;
with CI=true a missing PostgreSQL or Chromium is a failure, never a silent skip.
"""
import datetime as dt
import functools
import os
import uuid
from urllib.parse import urlparse, urlunparse

import pytest

from canteen import create_app
from canteen.clock import clock
from canteen.models import Dish, MenuItem, database

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("CANTEEN_TEST_POSTGRES_URL")


def require(condition, how_to_enable):
    """Skip (or, in CI, fail) unless `condition` holds."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {how_to_enable}")
    pytest.skip(how_to_enable)


@pytest.fixture(scope="session")
def postgres_url():
    """A database of its own for this test run, created and dropped around it."""
    require(PG_URL, "PostgreSQL tests need CANTEEN_TEST_POSTGRES_URL, e.g. "
                    "CANTEEN_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test")
    import psycopg2

    name = f"canteen_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(PG_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(PG_URL)._replace(path="/" + name))
    finally:
        close_pool()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def close_pool():
    if database.obj is not None:
        database.obj.close_all()


def reset_postgres(url, keep_schema=False):
    """Empty the test database. With `keep_schema`, a schema every migration has built is
    kept and only emptied (TRUNCATE … RESTART IDENTITY, ids from 1 again): dropping it and
    migrating again cost ~0.5–2 s for each of ~450 PostgreSQL tests. Anything else (a schema
    part-way through the migrations, or none) is dropped."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        if keep_schema and fully_migrated(cur):
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migration'")
            tables = ", ".join(f'"{name}"' for (name,) in cur.fetchall())
            cur.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        else:
            cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    conn.close()


def fully_migrated(cur):
    from canteen.db import MIGRATIONS

    cur.execute("SELECT to_regclass('public.schema_migration')")
    if cur.fetchone()[0] is None:
        return False
    cur.execute("SELECT name FROM schema_migration ORDER BY name")
    return [name for (name,) in cur.fetchall()] == sorted(p.stem for p in MIGRATIONS.glob("[0-9]*.py"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Each test gets a database without data: a new SQLite file, or the PostgreSQL test
    database emptied (its migrated schema kept; see `empty_db_url` for none at all)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/canteen.db"
    url = request.getfixturevalue("postgres_url")
    close_pool()
    reset_postgres(url, keep_schema=True)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request, tmp_path):
    """A database without even a schema, for tests that migrate it part-way themselves."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/canteen.db"
    url = request.getfixturevalue("postgres_url")
    close_pool()
    reset_postgres(url)
    return url


def make_app(db_url, tmp_path, **config):
    settings = {
        "TESTING": True,
        "DATABASE_URL": db_url,
        "DEMO": False,
        "SECRET_KEY": "tests-only-secret-key",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        # rate limits are a deployment setting; the tests about them turn them on
        "RATE_LIMIT_ADDRESS_PER_MINUTE": 0,
        "RATE_LIMIT_TOKEN_PER_MINUTE": 0,
    }
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def app(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    yield app
    close_pool()


@pytest.fixture
def sqlite_app(tmp_path):
    """For tests whose subject is not the database engine."""
    app = make_app(f"sqlite:///{tmp_path}/canteen.db", tmp_path)
    yield app
    close_pool()


@pytest.fixture
def client(app):
    """The paired kiosk at the canteen exit (outside demo mode only paired kiosks vote)."""
    return kiosk_client(app)


def add_dish(name_zh, name_en, price_fen=800, served=True, **fields):
    """A dish, planned for every meal around now when `served` (so the test never
    depends on the hour it runs at)."""
    dish = Dish.create(name_zh=name_zh, name_en=name_en, price_fen=price_fen, **fields)
    if served:
        slot = clock().slot()
        days = {slot.day + dt.timedelta(days=d) for d in (-1, 0, 1)} | {clock().today()}
        MenuItem.insert_many(
            [(day, w.name, dish.id) for day in days for w in clock().windows],
            fields=[MenuItem.day, MenuItem.meal, MenuItem.dish],
        ).on_conflict_ignore().execute()
    return dish


@pytest.fixture
def dishes(app):
    """Three dishes on the menu now (one on trial) and one not on any menu."""
    with app.app_context(), database.connection_context():
        today = clock().today()
        return {
            "noodles": add_dish("臊子面", "Saozi noodles", 800, category="noodles"),
            "pork": add_dish("红烧肉", "Braised pork belly", 1200, category="meat",
                             trial_start=today - dt.timedelta(days=3)),
            "rice": add_dish("米饭", "Steamed rice", 50, category="staple"),
            "offmenu": add_dish("羊肉泡馍", "Mutton paomo", 1500, served=False, category="soup"),
        }


PASSWORD = "pit-head-2026!"
CSRF = __import__("re").compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@functools.lru_cache(maxsize=None)
def password_hash(password):
    """A scrypt hash as the app stores them, computed once per password per run and with a
    small work factor: every sign-in checks it, and hundreds of tests sign in (the default
    N=32768 costs ~0.1 s of CPU a check). The app's own hashing keeps its default; the
    timing test in test_security.py uses it."""
    from werkzeug.security import generate_password_hash
    return generate_password_hash(password, method="scrypt:1024:8:1")


def make_user(username, *roles, password=PASSWORD, active=True):
    from canteen.office.accounts import User

    user = User(username=username, display_name=username.title(), active=active)
    user.set_roles(roles)
    user.password_hash = password_hash(password)  # what User.set_password stores, hashed once per run
    user.session_version += 1
    user.save()
    return user


def csrf_token(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    return CSRF.search(page).group(1)


def sign_in(client, username, password=PASSWORD):
    return client.post("/login", data={"csrf_token": csrf_token(client), "username": username,
                                       "password": password})


@pytest.fixture
def staff(app):
    """One account per role (and one with two roles)."""
    with app.app_context(), database.connection_context():
        return {name: make_user(name, *roles) for name, roles in {
            "admin": ("admin",), "manager": ("manager",), "union": ("union",),
            "chef": ("manager", "union")}.items()}


def signed_in(app, username, lang="en"):
    """A client signed in as `username`, reading pages in `lang` (tests match English words)."""
    client = app.test_client()
    client.set_cookie("lang", lang)
    response = sign_in(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def kiosk_client(app, name=None, card_reader=True, location=""):
    """A test client holding a paired kiosk's device cookie (outside demo mode only paired
    kiosks may vote). Pairs the way a screen does: a one-time code redeemed for a credential."""
    from canteen.access import DEVICE_COOKIE
    from canteen.office.accounts import Kiosk

    name = name or app.config["KIOSK_NAME"]
    with app.app_context(), database.connection_context():
        kiosk = Kiosk.get_or_none(Kiosk.name == name) or Kiosk(name=name)
        kiosk.location, kiosk.card_reader = location, card_reader
        code = kiosk.new_pairing_code()
        kiosk.save()
        _kiosk, credential = Kiosk.redeem(code)
    client = app.test_client()
    client.set_cookie(DEVICE_COOKIE, credential)
    return client


CHROMIUM = os.environ.get("CANTEEN_CHROMIUM", "/usr/bin/chromium")
# Playwright cannot download its own browser here; these flags keep Debian's quiet and offline.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    require(os.path.exists(CHROMIUM),
            f"browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium "
            "(or set CANTEEN_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "browser tests need Playwright: pip install -e '.[test]'")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
