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
    assert '<option value="night" >Night shift</option>' in html and "<td>Middle shift</td>" in html
    r = cli(app, "register", "add", "staff", "--name", "早班厨工", "--shift", "early")
    assert r.exit_code == 0 and json.loads(r.output)["shift"] == "early"
    assert in_db(app, lambda: [(s.name, s.shift) for s in Staff.select().order_by(Staff.id)]) == [
        ("夜班厨工", None), ("无班次", None), ("中班厨工", "middle"), ("早班厨工", "early")]
    assert cli(app, "register", "add", "staff", "--name", "x", "--shift", "weekend").exit_code == 1


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
