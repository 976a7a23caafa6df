"""The registers over the JSON API and the command line: the same rules and audit as the
back-office forms, on SQLite and PostgreSQL."""
import json

import pytest

from canteen.audit import AuditEntry
from canteen.models import database, utcnow
from canteen.office.accounts import ApiToken
from canteen.safety.models import Staff, StorageUnit, Supplier, Training

from .conftest import csrf_token, signed_in

BASE = "/api/v1/safety/registers"
GOOD = {
    "suppliers": {"name": "黄陵肉联厂", "licence_no": "SC-1", "licence_expiry": "2027-06-30", "contact": "0911-1"},
    "staff": {"name": "王师傅", "job": "厨师", "health_cert_no": "HC-1", "health_cert_expiry": "2027-01-31",
              "shift": "early"},
}


def in_db(app, fn):
    with app.app_context(), database.connection_context():
        return fn()


def token(app, role, revoked=False):
    def issue():
        row, secret = ApiToken.issue(f"{role}-script", role)
        if revoked:
            ApiToken.update(revoked_at=utcnow()).where(ApiToken.id == row.id).execute()
        return {"Authorization": f"Bearer {secret}"}
    return in_db(app, issue)


def test_a_script_adds_and_lists_every_register(app, staff):
    manager = signed_in(app, "manager")
    r = manager.post(f"{BASE}/suppliers", json=GOOD["suppliers"])
    assert r.status_code == 201
    supplier = r.get_json()
    assert supplier == {"id": supplier["id"], **GOOD["suppliers"], "active": True}
    cook = manager.post(f"{BASE}/staff", json=GOOD["staff"]).get_json()
    assert cook == {"id": cook["id"], **GOOD["staff"], "active": True}
    unit = {"name": "1号冷库", "kind": "cold_room", "owner": cook["id"], "checker": None}
    r = manager.post(f"{BASE}/units", json=unit)
    assert r.status_code == 201 and r.get_json() == {"id": r.get_json()["id"], **unit, "active": True}
    r = manager.post(f"{BASE}/staff/{cook['id']}/trainings", json={"topic": "tableware", "day": "2026-11-20"})
    assert r.status_code == 201
    assert r.get_json() == {"id": r.get_json()["id"], "topic": "tableware", "day": "2026-11-20", "trainer": "",
                            "staff": cook["id"]}
    union = signed_in(app, "union")
    assert union.get(f"{BASE}/suppliers").get_json() == {"items": [supplier]}
    assert [u["name"] for u in union.get(f"{BASE}/units").get_json()["items"]] == ["1号冷库"]
    assert [s["id"] for s in union.get(f"{BASE}/staff").get_json()["items"]] == [cook["id"]]
    trainings = signed_in(app, "admin").get(f"{BASE}/staff/{cook['id']}/trainings").get_json()["items"]
    assert [t["topic"] for t in trainings] == ["tableware"]
    actions = in_db(app, lambda: [(e.actor, e.action) for e in AuditEntry.select().where(
        AuditEntry.action.startswith("register.")).order_by(AuditEntry.id)])
    assert actions == [("user:manager", "register.suppliers.create"), ("user:manager", "register.staff.create"),
                       ("user:manager", "register.units.create"), ("user:manager", "register.training.create")]


@pytest.mark.parametrize("caller,get,post", [
    ("anonymous", 401, 401), ("union", 200, 403), ("admin", 200, 403), ("manager", 200, 201),
    ("token-manager", 200, 201), ("token-union", 200, 403), ("revoked", 401, 401)])
def test_who_reads_and_who_writes(app, staff, caller, get, post):
    client, headers = app.test_client(), {}
    if caller in ("union", "admin", "manager"):
        client = signed_in(app, caller)
    elif caller.startswith("token-"):
        headers = token(app, caller.split("-")[1])
    elif caller == "revoked":
        headers = token(app, "manager", revoked=True)
    person = in_db(app, lambda: Staff.create(name="李班长").id)
    for path, body in ((f"{BASE}/suppliers", GOOD["suppliers"]), (f"{BASE}/units", {"name": "干库", "kind": "dry"}),
                       (f"{BASE}/staff", GOOD["staff"]),
                       (f"{BASE}/staff/{person}/trainings", {"topic": "4d", "day": "2026-11-02"})):
        assert client.get(path, headers=headers).status_code == get, path
        assert client.post(path, json=body, headers=headers).status_code == post, path
    assert in_db(app, lambda: Supplier.select().count()) == (1 if post == 201 else 0)


@pytest.mark.parametrize("path,body,field,words", [
    ("suppliers", {"licence_no": "SC-9"}, "name", "is required"),
    ("suppliers", {"name": "x" * 81}, "name", "at most 80 characters"),
    ("suppliers", {"name": "某厂", "licence_expiry": "30/06/2027"}, "licence_expiry", "must be a date"),
    ("suppliers", {"name": "某厂", "licence_expiry": "1999-06-30"}, "licence_expiry", "must be a date"),
    ("suppliers", {"name": "某厂", "colour": "red"}, "colour", "not a field of this register"),
    ("suppliers", {"name": 12}, "name", "must be text"),
    ("suppliers", {"name": "某厂", "contact": None}, "contact", "must be text"),
    ("staff", {"name": "张", "health_cert_expiry": ""}, "health_cert_expiry", "must be a date"),
    ("units", {"name": "冰柜", "kind": "cupboard"}, "kind", "choose one of"),
    ("units", {"name": "冰柜", "kind": "freezer", "owner": 999}, "owner", "no such entry"),
    ("units", {"name": "冰柜", "kind": "freezer", "owner": "1"}, "owner", "no such entry"),
    ("units", {"name": "冰柜", "kind": "freezer", "checker": True}, "checker", "no such entry"),
    ("staff", {"name": "", "job": "厨师"}, "name", "is required"),
    ("staff", {"name": "张", "health_cert_no": "x" * 41}, "health_cert_no", "at most 40 characters"),
    ("staff", {"name": "张", "shift": "weekend"}, "shift", "choose one of early, middle, night"),
    ("staff", {"name": "张", "shift": 1}, "shift", "must be text"),
    ("staff/1/trainings", {"topic": "juggling", "day": "2026-11-01"}, "topic", "choose one of"),
    ("staff/1/trainings", {"topic": "4d", "day": "2099-01-01"}, "day", "in the future"),
    ("staff/1/trainings", {"topic": "4d"}, "day", "is required"),
])
def test_bad_entries_are_explained_and_store_nothing(app, staff, path, body, field, words):
    in_db(app, lambda: Staff.create(name="王师傅"))
    before = in_db(app, lambda: (Supplier.select().count(), StorageUnit.select().count(),
                                 Staff.select().count(), Training.select().count()))
    r = signed_in(app, "manager").post(f"{BASE}/{path}", json=body)
    assert r.status_code == 422
    answer = r.get_json()
    assert answer["field"] == field and words in answer["errors"][field]
    assert in_db(app, lambda: (Supplier.select().count(), StorageUnit.select().count(),
                               Staff.select().count(), Training.select().count())) == before


def test_a_name_registered_twice_and_bad_bodies_are_4xx(app, staff):
    manager = signed_in(app, "manager")
    assert manager.post(f"{BASE}/suppliers", json=GOOD["suppliers"]).status_code == 201
    r = manager.post(f"{BASE}/suppliers", json=GOOD["suppliers"])
    assert r.status_code == 422 and r.get_json()["field"] == "name"
    r = manager.post(f"{BASE}/suppliers", data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"] == "The body is not valid JSON."
    assert manager.post(f"{BASE}/suppliers", json=[1, 2]).status_code == 400
    assert manager.post(f"{BASE}/suppliers", data="name=x").status_code == 415
    r = manager.post(f"{BASE}/staff/424242/trainings", json={"topic": "4d", "day": "2026-11-01"})
    assert r.status_code == 404 and r.get_json()["field"] == "staff_id"
    assert manager.get(f"{BASE}/fridges").status_code == 404


def test_the_form_keeps_the_same_rules(app, staff):
    manager = signed_in(app, "manager")
    page = "/safety/registers/units"
    r = manager.post(page, data={"csrf_token": csrf_token(manager, page), "name": "冰柜", "kind": "cupboard"})
    assert r.status_code == 422 and "choose one of" in r.get_data(as_text=True)
    r = manager.post(page, data={"csrf_token": csrf_token(manager, page), "name": "冰柜" * 31, "kind": "freezer"})
    assert r.status_code == 422 and "at most 60 characters" in r.get_data(as_text=True)
    r = manager.post(page, data={"csrf_token": csrf_token(manager, page), "name": "冰柜", "kind": "freezer",
                                 "owner": ""})
    assert r.status_code == 302
    assert in_db(app, lambda: [(u.name, u.owner_id) for u in StorageUnit.select()]) == [("冰柜", None)]


def test_a_staff_members_shift_is_optional_everywhere(app, staff):
    manager = signed_in(app, "manager")
    r = manager.post(f"{BASE}/staff", json={"name": "夜班厨工", "shift": None})
    assert r.status_code == 201 and r.get_json()["shift"] is None
    assert manager.post(f"{BASE}/staff", json={"name": "无班次"}).get_json()["shift"] is None
    page = "/safety/registers/staff"
    r = manager.post(page, data={"csrf_token": csrf_token(manager, page), "name": "中班厨工", "shift": "middle"})
    assert r.status_code == 302
    r = manager.post(page, data={"csrf_token": csrf_token(manager, page), "name": "某人", "shift": "weekend"})
    assert r.status_code == 422 and "Shift: choose one of early, middle, night" in r.get_data(as_text=True)
    html = manager.get(page).get_data(as_text=True)
    assert '<option value="night" >Night shift</option>' in html and '<option value="middle" selected>' in html
    assert "<td>Middle shift</td>" in signed_in(app, "union").get(page).get_data(as_text=True)  # reads only
    r = cli(app, "register", "add", "staff", "--name", "早班厨工", "--shift", "early")
    assert r.exit_code == 0 and json.loads(r.output)["shift"] == "early"
    assert in_db(app, lambda: [(s.name, s.shift) for s in Staff.select().order_by(Staff.id)]) == [
        ("夜班厨工", None), ("无班次", None), ("中班厨工", "middle"), ("早班厨工", "early")]
    assert cli(app, "register", "add", "staff", "--name", "x", "--shift", "weekend").exit_code == 1


def test_someone_registered_without_a_shift_is_put_on_one_later(app, staff):
    """Everyone registered before shifts existed (an upgraded installation) has none: the API
    and the register page put them on one, audited; nothing else can be changed that way."""
    from canteen import audit

    manager = signed_in(app, "manager")
    person = manager.post(f"{BASE}/staff", json={"name": "老厨工"}).get_json()
    assert person["shift"] is None
    r = manager.patch(f"{BASE}/staff/{person['id']}", json={"shift": "night"})
    assert r.status_code == 200 and r.get_json() == dict(person, shift="night")
    assert in_db(app, lambda: AuditEntry.select().order_by(AuditEntry.id.desc()).get().action) == "register.staff.shift"
    for body, field in (({"shift": "weekend"}, "shift"), ({"shift": 1}, "shift"),
                        ({"shift": "early", "active": "no"}, "active"), ({"shift": "early", "name": "x"}, "name")):
        r = manager.patch(f"{BASE}/staff/{person['id']}", json=body)
        assert r.status_code == 422 and r.get_json()["field"] == field, body
    supplier = manager.post(f"{BASE}/suppliers", json=GOOD["suppliers"]).get_json()
    r = manager.patch(f"{BASE}/suppliers/{supplier['id']}", json={"shift": "early"})
    assert r.status_code == 422 and r.get_json()["field"] == "shift"
    assert signed_in(app, "union").patch(f"{BASE}/staff/{person['id']}", json={"shift": "early"}).status_code == 403
    page = "/safety/registers/staff"
    form = f"{page}/{person['id']}/shift"
    assert manager.post(form, data={"csrf_token": csrf_token(manager, page), "shift": "middle"}).status_code == 302
    assert manager.get(f"{BASE}/staff").get_json()["items"][0]["shift"] == "middle"
    r = manager.post(form, data={"csrf_token": csrf_token(manager, page), "shift": "weekend"}, follow_redirects=True)
    assert "Shift: choose one of early, middle, night" in r.get_data(as_text=True)
    assert manager.post(form, data={"csrf_token": csrf_token(manager, page), "shift": ""}).status_code == 302
    assert signed_in(app, "union").post(form, data={"shift": "early"}).status_code in (400, 403)
    assert in_db(app, lambda: Staff.get_by_id(person["id"]).shift) is None
    assert in_db(app, lambda: audit.verify().ok)


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_the_command_line_adds_and_lists(app):
    r = cli(app, "register", "add", "staff", "--name", "王师傅", "--job", "厨师")
    assert r.exit_code == 0, r.output
    cook = json.loads(r.output)["id"]
    r = cli(app, "register", "add", "units", "--name", "1号冷库", "--kind", "cold_room", "--owner", str(cook))
    assert r.exit_code == 0 and json.loads(r.output)["owner"] == cook
    r = cli(app, "register", "add", "trainings", "--staff", str(cook), "--topic", "cooking", "--day", "2026-11-03")
    assert r.exit_code == 0, r.output
    r = cli(app, "register", "list", "units")
    assert r.exit_code == 0
    assert r.output.splitlines()[0].split() == ["id", "name", "kind", "owner", "checker", "active"]
    assert r.output.splitlines()[1].split() == ["1", "1号冷库", "cold_room", str(cook), "—", "True"]
    listed = json.loads(cli(app, "register", "list", "trainings", "--staff", str(cook), "--json").output)
    assert [(t["topic"], t["day"]) for t in listed["items"]] == [("cooking", "2026-11-03")]
    assert in_db(app, lambda: AuditEntry.select().where(
        (AuditEntry.actor == "cli") & AuditEntry.action.startswith("register.")).count()) == 3


def test_the_command_line_validates_the_same_way(app):
    r = cli(app, "register", "add", "units", "--name", "冰柜", "--kind", "cupboard", "--job", "x")
    assert r.exit_code == 1
    assert "kind:" in r.output and "job: job 不是本台账的字段" in r.output  # in the default language
    r = cli(app, "register", "add", "trainings", "--topic", "4d", "--day", "2026-11-01")
    assert r.exit_code == 2 and "--staff" in r.output
    assert in_db(app, lambda: StorageUnit.select().count() + Training.select().count()) == 0


def test_an_entry_is_retired_and_brought_back_over_the_api_and_the_command_line(app, staff):
    manager = signed_in(app, "manager")
    supplier = manager.post(f"{BASE}/suppliers", json=GOOD["suppliers"]).get_json()
    path = f"{BASE}/suppliers/{supplier['id']}"
    r = manager.patch(path, json={"active": False})
    assert r.status_code == 200 and r.get_json() == dict(supplier, active=False)
    assert manager.get(f"{BASE}/suppliers").get_json()["items"] == [dict(supplier, active=False)]
    assert manager.patch(path, json={"active": False}).status_code == 200  # a retry changes nothing
    offered = lambda: GOOD["suppliers"]["name"] in manager.get("/safety/procurement/new").get_data(as_text=True)  # noqa: E731
    assert not offered()  # out of use: no longer offered
    r = manager.patch(path, json={"active": True})
    assert r.status_code == 200 and r.get_json()["active"] is True and offered()
    cook = manager.post(f"{BASE}/staff", json=GOOD["staff"]).get_json()
    r = cli(app, "register", "retire", "staff", str(cook["id"]))
    assert r.exit_code == 0 and json.loads(r.output)["active"] is False
    r = cli(app, "register", "reactivate", "staff", str(cook["id"]))
    assert r.exit_code == 0 and json.loads(r.output)["active"] is True
    assert cli(app, "register", "retire", "staff", "999").exit_code == 1
    assert cli(app, "register", "retire", "staff", str(2**40)).exit_code == 2
    changes = in_db(app, lambda: [(e.actor, e.action) for e in AuditEntry.select().where(
        AuditEntry.action.endswith(".active")).order_by(AuditEntry.id)])
    assert changes == [("user:manager", "register.suppliers.active"), ("user:manager", "register.suppliers.active"),
                       ("cli", "register.staff.active"), ("cli", "register.staff.active")]
    # the back-office button writes the same audit entry
    page = "/safety/registers/units"
    unit = manager.post(f"{BASE}/units", json={"name": "干库", "kind": "dry"}).get_json()
    manager.post(f"{page}/{unit['id']}/active", data={"csrf_token": csrf_token(manager, page)})
    assert in_db(app, lambda: AuditEntry.select().order_by(AuditEntry.id.desc()).get().action) == "register.units.active"
    assert manager.get(f"{BASE}/units").get_json()["items"][0]["active"] is False


@pytest.mark.parametrize("body,field,words", [
    ({}, "active", "active is required"),
    ({"active": "no"}, "active", "must be true or false"),
    ({"active": 0}, "active", "must be true or false"),
    ({"active": False, "name": "新名"}, "name", "cannot be changed here"),
])
def test_a_bad_change_is_422_and_changes_nothing(app, staff, body, field, words):
    manager = signed_in(app, "manager")
    supplier = manager.post(f"{BASE}/suppliers", json=GOOD["suppliers"]).get_json()
    r = manager.patch(f"{BASE}/suppliers/{supplier['id']}", json=body)
    assert r.status_code == 422 and r.get_json()["field"] == field and words in r.get_json()["errors"][field]
    assert manager.get(f"{BASE}/suppliers").get_json()["items"] == [supplier]


def test_who_may_change_an_entry_and_unknown_ids(app, staff):
    person = in_db(app, lambda: Staff.create(name="李班长").id)
    for caller, status in (("union", 403), ("admin", 403)):
        assert signed_in(app, caller).patch(f"{BASE}/staff/{person}", json={"active": False}).status_code == status
    assert app.test_client().patch(f"{BASE}/staff/{person}", json={"active": False}).status_code == 401
    assert in_db(app, lambda: Staff.get_by_id(person).active) is True
    manager = signed_in(app, "manager")
    r = manager.patch(f"{BASE}/staff/424242", json={"active": False})
    assert r.status_code == 404 and r.get_json()["field"] == "entry_id"
    assert manager.patch(f"{BASE}/staff/{2**40}", json={"active": False}).status_code == 404
    assert manager.patch(f"{BASE}/fridges/{person}", json={"active": False}).status_code == 404
    assert manager.patch(f"{BASE}/staff/{person}", data="active=0").status_code == 415
    assert manager.patch(f"{BASE}/staff/{person}", json=[False]).status_code == 400
    headers = token(app, "manager")
    r = app.test_client().patch(f"{BASE}/staff/{person}", json={"active": False}, headers=headers)
    assert r.status_code == 200 and r.get_json()["active"] is False


LANGUAGES_ASKED = [({}, ""), ({"Accept-Language": "zh-CN,zh;q=0.9"}, ""), ({}, "?lang=zh_CN"),
                   ({"Accept-Language": "en"}, "")]


@pytest.mark.parametrize("headers,query", LANGUAGES_ASKED)
def test_every_api_error_is_english_and_names_follow_the_language_asked(app, staff, dishes, headers, query):
    """One rule for the whole JSON API: `error`/`errors` in English whatever is asked; names in
    the language asked (else Chinese)."""
    person = in_db(app, lambda: Staff.create(name="李班长").id)
    h = dict(headers, **token(app, "manager"))
    client = app.test_client()
    answers = {
        "register": client.post(f"{BASE}/suppliers{query}", json={"licence_no": "SC-9"}, headers=h),
        "unit": client.post(f"{BASE}/units{query}", json={"name": "冰柜", "kind": "cupboard"}, headers=h),
        "training": client.post(f"{BASE}/staff/{person}/trainings{query}", json={"topic": "4d"}, headers=h),
        "change": client.patch(f"{BASE}/staff/{person}{query}", json={"active": "no"}, headers=h),
        "log": client.post(f"/api/v1/safety/storage{query}", json={}, headers=h),
        "body": client.post(f"{BASE}/staff{query}", data="{", content_type="application/json", headers=h),
        "missing": client.patch(f"{BASE}/staff/424242{query}", json={"active": False}, headers=h),
        "summary": client.get(f"/api/v1/summary{query}{'&' if query else '?'}day=x", headers=h),
        # refused before any view runs: a reader signed in with the Chinese screen, nobody, a bad token
        "role": signed_in(app, "union", lang="zh_CN").patch(f"{BASE}/staff/{person}{query}",
                                                            json={"active": False}, headers=headers),
        "anonymous": client.patch(f"{BASE}/staff/{person}{query}", json={"active": False}, headers=headers),
        "token": client.get(f"{BASE}/staff{query}", headers=dict(headers, Authorization="Bearer nope")),
    }
    for name, r in answers.items():
        body = r.get_json()
        assert 400 <= r.status_code < 500 and body["error"].isascii(), (name, body)
        assert all(str(m).isascii() for m in body.get("errors", {}).values()), (name, body)
    assert answers["register"].get_json()["error"] == "Name is required"
    assert answers["unit"].get_json()["errors"]["kind"].startswith("Type: choose one of dry")
    assert answers["training"].get_json()["errors"] == {"day": "Date is required"}
    menu = client.get(f"/api/v1/menu/current{query}", headers=headers).get_json()
    english = headers.get("Accept-Language") == "en"
    assert ("Saozi noodles" if english else "臊子面") in [d["name"] for d in menu["dishes"]]
