"""Who reaches what: every route × every kind of caller, generated from the URL map.

EXPECTED is the access rule of every endpoint. A new route that is not listed here fails
`test_every_route_has_a_rule`, so nothing becomes reachable by accident.
"""
import datetime as dt
import re

import pytest

from canteen.models import Dish, database, utcnow
from canteen.office.accounts import ApiToken, Kiosk

from .conftest import CSRF, make_user, signed_in

PUBLIC = "public"
# No sign-in, but outside demo mode only a paired kiosk gets in (others: 403)
DEVICE = "device"
EXPECTED = {
    "kiosk.index": PUBLIC,
    "kiosk.screen": DEVICE,
    "kiosk.pair": PUBLIC,
    "kiosk.photo": PUBLIC,
    "kiosk.live_qr": DEVICE,
    "kiosk.phone": PUBLIC,
    "kiosk.service_worker": PUBLIC,
    "api.summary": {"union", "manager", "admin"},
    "safety_api.create_safety_record": {"manager"},
    "safety_api.amend_safety_record": {"manager"},
    "safety_api.list_safety_records": {"manager", "union", "admin"},
    "safety_api.check_safety_entry": {"manager"},
    "safety_api.stock": {"manager", "union"},
    "safety_api.list_register": {"manager", "union", "admin"},
    "safety_api.add_to_register": {"manager"},
    "safety_api.change_register_entry": {"manager"},
    # one rule, two methods: a rule per method where the view checks the role itself
    "safety_api.staff_trainings": {"GET": {"manager", "union", "admin"}, "POST": {"manager"}},
    "safety.today": {"manager", "union", "admin"},
    "safety.records": {"manager", "union", "admin"},
    "safety.new_record": {"manager"},
    "safety.record": {"manager", "union", "admin"},
    "safety.photo": {"manager", "union", "admin"},
    "safety.amend": {"manager"},
    "safety.register": {"manager", "union", "admin"},
    "safety.toggle_register": {"manager"},
    "safety.add_training": {"manager"},
    "safety.set_staff_shift": {"manager"},
    "safety.stock": {"manager", "union", "admin"},
    "safety.actions": {"manager", "union", "admin"},
    "standing.rounds": {"manager", "union", "admin"},
    "standing.new_round": {"manager"},
    "standing.dashboard": {"manager", "union", "admin"},
    "standing.export": {"manager", "union", "admin"},
    "standing.round_detail": {"manager", "union", "admin"},
    "alerts.inbox": {"manager", "union", "admin"},
    "alerts.schedule": {"manager", "union", "admin"},
    "alerts.digests": {"manager", "union", "admin"},
    "alerts.digest": {"manager", "union", "admin"},
    "alerts.jobs_page": {"admin"},
    "reports.scoreboard": {"union", "manager", "admin"},
    "reports.trials": {"union", "manager", "admin"},
    "reports.decide": {"manager"},
    "reports.trends": {"union", "manager", "admin"},
    "reports.reasons": {"union", "manager", "admin"},
    "reports.dish": {"union", "manager", "admin"},
    "reports.mark_change": {"manager"},
    "reports.comments": {"union", "manager", "admin"},
    "reports.comment": {"union", "manager", "admin"},
    "reports.reply": {"manager"},
    "reports.weekly": {"union", "manager", "admin"},
    "reports.suggestions": {"union", "manager", "admin"},
    "reports.record_suggestion": {"union"},
    "reports.suggestion": {"union", "manager", "admin"},
    "reports.back_suggestion": {"union"},
    "reports.answer_suggestion": {"manager"},
    "reports.link_suggestion": {"manager"},
    "safety.action": {"manager", "union", "admin"},
    "safety.health_shift": {"manager"},
    "kitchen.cards": {"manager"},
    "kitchen.print_cards": {"manager"},
    "kitchen.card_svg": {"manager"},
    "kitchen.revoke_card": {"manager", "admin"},
    "api.openapi": PUBLIC,
    "api.current_menu": PUBLIC,
    "api.create_rating": DEVICE,
    "api.change_rating": DEVICE,
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    "auth.change_password": {"admin", "manager", "union"},
    "office.home": {"admin", "manager", "union"},
    "switch.switch": {"admin", "manager", "union"},
    "switch.switch_back": {"admin", "manager", "union"},
    "switch.set_pin": {"admin", "manager", "union"},
    "admin.switch_setting": {"admin"},
    "kitchen.dishes": {"manager"},
    "kitchen.new_dish": {"manager"},
    "kitchen.edit_dish": {"manager"},
    "kitchen.toggle_dish": {"manager"},
    "kitchen.menus": {"manager"},
    "kitchen.edit_menu": {"manager"},
    "kitchen.copy_last_week": {"manager"},
    "admin.users": {"admin"},
    "admin.new_user": {"admin"},
    "admin.edit_user": {"admin"},
    "admin.kiosks": {"admin"},
    "admin.new_kiosk": {"admin"},
    "admin.new_pairing": {"admin"},
    "admin.revoke_kiosk": {"admin"},
    "admin.toggle_card_reader": {"admin"},
    "admin.tokens": {"admin"},
    "admin.revoke_token": {"admin"},
    "admin.audit_log": {"admin"},
}
# Where a POST is narrower than the page's GET (the role check sits inside the view).
EXPECTED_POST = {
    "safety.stock": {"manager"},
    "alerts.schedule": {"manager"},
}
SAMPLE_ARGS = {"dish_id": 1, "user_id": 1, "kiosk_id": 1, "token_id": 1, "day": "2026-11-27",
               "meal": "lunch", "name": "none.jpg", "code": "ABCDEFGH", "token": "not-a-token",
               "card_id": 1, "kind_name": "storage", "record_id": 1, "staff_id": 1, "row_id": 1, "action_id": 1, "area_name": "cold_room", "round_id": 1, "digest_id": 1,
               "rating_id": 1, "client_id": "k-sample-0001",
               "register_name": "suppliers", "suggestion_id": 1, "entry_id": 1}
CALLERS = ["anonymous", "kiosk", "union", "manager", "admin", "token-manager", "revoked-token"]


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = re.sub(r"<(?:[^>]*:)?(\w+)>", lambda m: str(SAMPLE_ARGS[m.group(1)]), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_route_has_a_rule(sqlite_app):
    endpoints = {r.endpoint for r in sqlite_app.url_map.iter_rules()} - {"static"}
    assert endpoints == set(EXPECTED), {"unlisted": endpoints - set(EXPECTED),
                                        "gone": set(EXPECTED) - endpoints}


def decoys():
    """A user, a kiosk and a token at id 1, the id every sample URL names, so that a POST a
    role may make (revoke, edit, toggle) changes a decoy, never the caller making it."""
    make_user("decoy", "union")
    decoy = Kiosk(name="decoy")
    decoy.new_pairing_code()
    decoy.save()
    ApiToken.issue("decoy", "manager")


@pytest.fixture
def callers(app):
    """A client per kind of caller, plus the headers it sends."""
    with app.app_context(), database.connection_context():
        decoys()
        for name in ("union", "manager", "admin"):
            make_user(name, name)
        Dish.create(name_zh="米饭", name_en="Rice", price_fen=50)
        kiosk = Kiosk(name="lamp-room")
        code = kiosk.new_pairing_code()
        kiosk.save()
        _token, good = ApiToken.issue("scale", "manager")
        revoked, bad = ApiToken.issue("old-scale", "manager")
        revoked.revoked_at = utcnow()
        revoked.save()
    kiosk_client = app.test_client()
    from .conftest import csrf_token
    kiosk_client.post("/kiosk/pair", data={"csrf_token": csrf_token(kiosk_client, "/kiosk/pair"), "code": code})
    assert kiosk_client.get_cookie("canteen_kiosk") is not None
    return {
        "anonymous": (app.test_client(), {}),
        "kiosk": (kiosk_client, {}),
        "union": (signed_in(app, "union"), {}),
        "manager": (signed_in(app, "manager"), {}),
        "admin": (signed_in(app, "admin"), {}),
        "token-manager": (app.test_client(), {"Authorization": f"Bearer {good}"}),
        "revoked-token": (app.test_client(), {"Authorization": f"Bearer {bad}"}),
    }


def expected_outcome(rule, caller, path):
    """'ok', 'login' (sent to sign in), 401 or 403."""
    if caller == "revoked-token" and path.startswith("/api/"):
        return 401  # a bad credential is refused, even where none is needed
    if rule == PUBLIC:
        return "ok"
    if rule == DEVICE:
        return "ok" if caller == "kiosk" else 403
    roles = {"union": {"union"}, "manager": {"manager"}, "admin": {"admin"}}.get(caller, set())
    if caller == "token-manager" and path.startswith("/api/"):
        roles = {"manager"}  # a token counts on the API only
    if roles & rule:
        return "ok"
    if roles:
        return 403
    return 401 if path.startswith("/api/") else "login"


def outcome(response):
    if response.status_code in (401, 403):
        return response.status_code
    if response.status_code == 302 and "/login" in response.headers["Location"]:
        return "login"
    if response.status_code == 400 and b"csrf" in response.get_data().lower():
        return "csrf"  # never expected: every form POST below carries a valid token
    return "ok"


def valid_csrf(client):
    """A CSRF token of the client's own session (from any page with a form it may open)."""
    for page in ("/login", "/office/"):
        match = CSRF.search(client.get(page).get_data(as_text=True))
        if match:
            return match.group(1)
    raise AssertionError("no page with a form")


def test_access_matrix(app, callers):
    """Every route as every caller; form POSTs carry the caller's valid CSRF token, so the
    role check inside a view is what answers, not the CSRF check in front of it."""
    checked = 0
    failures = []
    tokens = {caller: valid_csrf(client) for caller, (client, _headers) in callers.items()}
    # Signing out last: the POST would end the session the rest of the matrix uses.
    ordered = sorted(routes(app), key=lambda r: r[0] == "auth.logout")
    for endpoint, method, path in ordered:
        for caller in CALLERS:
            client, headers = callers[caller]
            form = None
            if method == "POST" and not path.startswith("/api/"):
                form = {"csrf_token": tokens[caller]}
            response = client.open(path, method=method, headers=headers, data=form)
            rule = EXPECTED_POST.get(endpoint, EXPECTED[endpoint]) if method == "POST" else EXPECTED[endpoint]
            rule = rule[method] if isinstance(rule, dict) else rule
            want = "login" if endpoint == "auth.logout" and method == "POST" else expected_outcome(rule, caller, path)
            got = outcome(response)
            if got != want:
                failures.append((caller, method, path, want, got, response.status_code))
            assert response.status_code < 500, (caller, method, path)
            response.close()  # file responses stream
            checked += 1
    print(f"access matrix: {checked} requests")
    assert not failures, "\n".join(map(str, failures))
    posts = sum(1 for _e, m, p in routes(app) if m == "POST" and not p.startswith("/api/"))
    assert posts >= 30 and checked == len(list(routes(app))) * len(CALLERS)


def test_disabled_account_and_changed_password_end_sessions(app, staff):
    from canteen.office.accounts import User

    client = signed_in(app, "manager")
    assert client.get("/kitchen/dishes").status_code == 200
    with app.app_context(), database.connection_context():
        user = User.by_username("manager")
        user.set_password("another-password-9")
        user.save()
    assert client.get("/kitchen/dishes").status_code == 302
    client = signed_in(app, "union")
    with app.app_context(), database.connection_context():
        User.update(active=False).where(User.username == "union").execute()
    assert client.get("/office/").status_code == 302


def test_session_lapses_after_inactivity(app, staff):
    """A session idle for 29 minutes still works; idle past 30 it is over for good."""
    from canteen.office.accounts import UserSession

    client = signed_in(app, "admin")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert app.config["SESSION_IDLE_MINUTES"] == 30

    def idle_for(minutes):
        with app.app_context(), database.connection_context():
            UserSession.update(last_seen_at=utcnow() - dt.timedelta(minutes=minutes)).execute()

    idle_for(29)
    assert client.get("/office/").status_code == 200
    idle_for(31)
    response = client.get("/office/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    idle_for(0)  # the lapsed session stays ended, even if it looks fresh again
    assert client.get("/office/").status_code == 302


def test_every_form_post_needs_its_csrf_token(app):
    """Signed in with every role, a POST without the token is refused and changes nothing."""
    from canteen.audit import AuditEntry

    with app.app_context(), database.connection_context():
        make_user("all", "admin", "manager", "union")
        Dish.create(name_zh="米饭", name_en="Rice", price_fen=50)
        kiosk = Kiosk(name="exit")
        kiosk.new_pairing_code()
        kiosk.save()
        ApiToken.issue("scale", "manager")
    client = signed_in(app, "all")
    with app.app_context(), database.connection_context():
        before = AuditEntry.select().count()
    posts = [(e, path) for e, m, path in routes(app) if m == "POST" and not path.startswith("/api/")]
    assert len(posts) >= 12
    for endpoint, path in posts:
        r = client.post(path, data={"name": "x", "username": "y", "password": "zzzzzzzzzzzz",
                                    "code": "ABCDEFGH", "roles": "union"},
                        headers={"Origin": "http://evil.example"})
        assert r.status_code == 400, (endpoint, r.status_code)
        assert "This form has expired" in r.get_data(as_text=True)  # signed_in reads pages in English
    with app.app_context(), database.connection_context():
        assert AuditEntry.select().count() == before
        assert Kiosk.get().revoked_at is None and ApiToken.get().revoked_at is None
        assert Dish.get().active
