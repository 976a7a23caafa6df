"""The quick switch on a shared tablet: PINs (hashed, throttled, no trivial ones), the next
person acting within the device's sign-in, named in every record, and handing the device back."""
import datetime as dt

import pytest

from canteen.audit import AuditEntry
from canteen.models import database
from canteen.office.accounts import User, UserSession, trivial_pin, validate_new_pin
from canteen.safety.models import CorrectiveAction

from .conftest import PASSWORD, csrf_token, make_user, signed_in
from .test_safety import kitchen, valid_entries  # noqa: F401 (kitchen is a fixture)

PIN = "4862"


def in_db(app, fn):
    with app.app_context(), database.connection_context():
        return fn()


def set_pin(client, pin, password=PASSWORD):
    return client.post("/account/pin", data={"csrf_token": csrf_token(client, "/account/pin"),
                                              "current": password, "pin": pin})


def switch(client, username, secret):
    return client.post("/account/switch", data={"csrf_token": csrf_token(client, "/account/switch"),
                                                 "username": username, "secret": secret})


def back(client):
    return client.post("/account/switch/back", data={"csrf_token": csrf_token(client, "/office/")})


def who(client):
    """The name the home page greets."""
    page = client.get("/office/").get_data(as_text=True)
    return page.split("Hello, ", 1)[1].split("<", 1)[0]


@pytest.fixture
def deputy(app, staff):
    """A second manager with a PIN, and the manager's tablet."""
    in_db(app, lambda: make_user("deputy", "manager"))
    assert set_pin(signed_in(app, "deputy"), PIN).status_code == 302
    return signed_in(app, "manager")


@pytest.mark.parametrize("pin", ["1234", "0000", "123456", "987654", "1212", "2580", "520520", "111111"])
def test_trivial_pins_are_refused(pin):
    assert trivial_pin(pin)
    assert validate_new_pin(pin) == "This PIN is too easy to guess (like 1234 or 0000); choose another."


@pytest.mark.parametrize("pin,ok", [("4862", True), ("930571", True), ("123", False), ("1234567", False),
                                    ("12a4", False), ("١٢٣٤", False)])
def test_a_pin_has_four_to_six_digits(pin, ok):
    assert (validate_new_pin(pin) is None) is ok


def test_setting_a_pin_takes_the_password_and_stores_a_hash(app, staff):
    client = signed_in(app, "manager")
    r = set_pin(client, "1234")
    assert r.status_code == 422 and "too easy to guess" in r.get_data(as_text=True)
    r = set_pin(client, PIN, password="wrong password here")
    assert r.status_code == 422 and "not your current password" in r.get_data(as_text=True)
    assert set_pin(client, PIN).status_code == 302
    stored = in_db(app, lambda: User.by_username("manager").pin_hash)
    assert stored.startswith("scrypt:") and PIN not in stored
    assert set_pin(client, "").status_code == 302  # removed
    assert in_db(app, lambda: User.by_username("manager").pin_hash) is None
    actions = in_db(app, lambda: [(e.action, e.actor) for e in AuditEntry.select().where(AuditEntry.action == "user.pin")])
    assert actions == [("user.pin", "user:manager"), ("user.pin", "user:manager")]


def test_switch_acts_as_the_next_person_and_hands_back(app, deputy):
    tablet = deputy
    assert who(tablet) == "Manager"
    r = switch(tablet, "deputy", PIN)
    assert r.status_code == 302
    assert who(tablet) == "Deputy"
    assert "Back to Manager" in tablet.get("/office/").get_data(as_text=True)
    entry = in_db(app, lambda: AuditEntry.select().where(AuditEntry.action == "auth.switch").get())
    assert entry.actor == "user:deputy" and '"device_user": "manager"' in entry.detail
    assert back(tablet).status_code == 302
    assert who(tablet) == "Manager"
    assert in_db(app, lambda: AuditEntry.select().where(AuditEntry.action == "auth.switch_back").get().actor) \
        == "user:deputy"


def test_a_pin_never_signs_in_without_a_password_sign_in_on_the_device(app, deputy):
    anonymous = app.test_client()
    r = anonymous.post("/account/switch", data={"csrf_token": csrf_token(anonymous), "username": "deputy",
                                                 "secret": PIN})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert "Hello" not in anonymous.get("/office/", follow_redirects=True).get_data(as_text=True)
    r = anonymous.post("/login", data={"csrf_token": csrf_token(anonymous), "username": "deputy", "password": PIN})
    assert r.status_code == 401


def test_wrong_pins_are_throttled_like_passwords(app, deputy):
    limit = app.config["LOGIN_LIMIT_ACCOUNT"]
    for _ in range(limit):
        assert switch(deputy, "deputy", "9999").status_code == 401
    r = switch(deputy, "deputy", PIN)
    assert r.status_code == 429 and "Too many failed sign-ins" in r.get_data(as_text=True)
    assert who(deputy) == "Manager"


def test_admins_can_require_full_passwords(app, deputy):
    admin = signed_in(app, "admin")
    r = admin.post("/admin/settings/switch", data={"csrf_token": csrf_token(admin, "/admin/users"),
                                                    "password_only": "1"})
    assert r.status_code == 302
    assert "Accept PINs again" in admin.get("/admin/users").get_data(as_text=True)
    assert switch(deputy, "deputy", PIN).status_code == 401
    assert switch(deputy, "deputy", PASSWORD).status_code == 302
    assert who(deputy) == "Deputy"


def test_an_administrator_switches_in_with_the_password_only(app, deputy):
    admin = signed_in(app, "admin")
    assert set_pin(admin, "7391").status_code == 302
    assert switch(deputy, "admin", "7391").status_code == 401
    assert switch(deputy, "admin", PASSWORD).status_code == 302
    assert who(deputy) == "Admin"


def test_the_switch_lapses_when_the_tablet_is_left(app, deputy):
    assert switch(deputy, "deputy", PIN).status_code == 302
    idle = dt.timedelta(minutes=app.config["SWITCH_IDLE_MINUTES"], seconds=1)
    def leave():
        row = UserSession.get(UserSession.acting_user_id.is_null(False))
        UserSession.update(last_seen_at=row.last_seen_at - idle).where(UserSession.id == row.id).execute()
    in_db(app, leave)
    assert who(deputy) == "Manager"


@pytest.fixture
def later(monkeypatch):
    """Move the sign-in clock forward: later(seconds) (the database rows stay as written)."""
    import canteen.office.accounts
    import canteen.office.switch
    from canteen.models import utcnow

    offset = [dt.timedelta()]
    moved = lambda: utcnow() + offset[0]  # noqa: E731
    monkeypatch.setattr(canteen.office.accounts, "utcnow", moved)
    monkeypatch.setattr(canteen.office.switch, "utcnow", moved)
    def forward(seconds):
        offset[0] += dt.timedelta(seconds=seconds)
    return forward


def test_the_switch_lapses_after_the_idle_time_counted_from_the_last_request(app, deputy, later):
    idle = app.config["SWITCH_IDLE_MINUTES"] * 60
    assert switch(deputy, "deputy", PIN).status_code == 302
    later(59)
    assert who(deputy) == "Deputy"  # a request the database does not note (once a minute)
    written = in_db(app, lambda: UserSession.get(UserSession.acting_user_id.is_null(False)).last_seen_at)
    later(idle - 2)  # idle - 2 s after that request, idle + 57 s after the database's note
    assert who(deputy) == "Deputy"
    assert in_db(app, lambda: UserSession.get(UserSession.acting_user_id.is_null(False)).last_seen_at) > written
    later(idle + 1)
    assert who(deputy) == "Manager"
    assert in_db(app, lambda: UserSession.select().where(UserSession.acting_user_id.is_null(False)).count()) == 0


def test_a_new_password_ends_the_switch_and_not_the_device(app, deputy):
    assert switch(deputy, "deputy", PIN).status_code == 302
    def change():
        user = User.by_username("deputy")
        user.set_password("a brand new passphrase")
        user.save()
    in_db(app, change)
    assert who(deputy) == "Manager"


def test_records_and_verification_name_who_really_did_it(app, deputy, kitchen):  # noqa: F811
    tablet = deputy
    hot = dict(valid_entries(kitchen)["cooking"], core_temp=62)
    assert tablet.post("/api/v1/safety/cooking", json=hot).status_code == 201
    action = in_db(app, lambda: CorrectiveAction.get())
    path = f"/safety/actions/{action.id}"
    step = lambda **data: tablet.post(path, data=dict(data, csrf_token=csrf_token(tablet, path)))  # noqa: E731
    assert step().status_code == 302
    assert step(cause="burner too low", action_taken="cooked on to 80 ℃", disposition="reworked").status_code == 302
    assert step(verification="checked 81 ℃", recheck_value="81").status_code == 422  # the same person
    assert switch(tablet, "deputy", PIN).status_code == 302
    assert step(verification="checked 81 ℃", recheck_value="81").status_code == 302
    done = in_db(app, lambda: CorrectiveAction.get())
    assert (done.status, done.acted_by, done.verified_by) == ("verified", "user:manager", "user:deputy")
    storage = valid_entries(kitchen)["storage"]
    record = tablet.post("/api/v1/safety/storage", json=storage).get_json()
    assert record["author"] == "user:deputy"
    verified = in_db(app, lambda: AuditEntry.select().where(AuditEntry.action == "action.verified").get())
    assert verified.actor == "user:deputy"


def test_signing_out_while_switched_ends_the_device_sign_in(app, deputy):
    assert switch(deputy, "deputy", PIN).status_code == 302
    r = deputy.post("/logout", data={"csrf_token": csrf_token(deputy, "/office/")})
    assert r.status_code == 302
    assert deputy.get("/office/").status_code == 302  # to the sign-in page: nobody is left signed in
    entry = in_db(app, lambda: AuditEntry.select().where(AuditEntry.action == "auth.sign_out").get())
    assert entry.actor == "user:deputy" and '"device_user": "manager"' in entry.detail


@pytest.mark.parametrize("change", ["back", "lapse", "another"])
def test_a_page_opened_by_one_person_is_never_saved_in_anothers_name(app, deputy, later, change):
    """The deputy opens a form, then the device changes hands — "Back to …" in another tab, the
    switch lapses, or a third person switches in. The form sent afterwards is refused as
    expired (nothing stored) instead of being saved as whoever acts now."""
    from canteen.safety.models import Staff

    assert switch(deputy, "deputy", PIN).status_code == 302
    opened = {"csrf_token": csrf_token(deputy, "/safety/registers/staff"), "name": "刘师傅"}
    if change == "back":
        assert back(deputy).status_code == 302
    elif change == "lapse":
        later(app.config["SWITCH_IDLE_MINUTES"] * 60 + 1)
    else:
        in_db(app, lambda: make_user("third", "manager"))
        assert set_pin(signed_in(app, "third"), "3849").status_code == 302
        assert switch(deputy, "third", "3849").status_code == 302
    r = deputy.post("/safety/registers/staff", data=opened)
    assert r.status_code == 400 and "reload the page" in r.get_data(as_text=True)
    assert in_db(app, lambda: Staff.select().where(Staff.name == "刘师傅").count()) == 0
    again = dict(opened, csrf_token=csrf_token(deputy, "/safety/registers/staff"))  # reloaded: as who acts now
    assert deputy.post("/safety/registers/staff", data=again).status_code == 302
    author = in_db(app, lambda: AuditEntry.select().where(AuditEntry.action == "register.staff.create")
                   .order_by(AuditEntry.id.desc()).get().actor)
    assert author == {"back": "user:manager", "lapse": "user:manager", "another": "user:third"}[change]
