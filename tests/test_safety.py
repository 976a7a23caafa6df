"""Food-safety logs: every kind through the form and the API, on SQLite and PostgreSQL;
amendments keep the original; the audit chain notices tampering; stock; retention."""
import datetime as dt
import json

import pytest

from canteen import audit
from canteen.audit import AuditEntry
from canteen.clock import clock
from canteen.models import database
from canteen.safety.models import (
    SafetyAmendment,
    SafetyRecord,
    Staff,
    StockLot,
    StorageUnit,
    Supplier,
    Training,
)
from canteen.safety.schema import KINDS, EntryErrors, validate

from .conftest import add_dish, csrf_token, make_user, signed_in


def in_db(app, fn):
    with app.app_context(), database.connection_context():
        return fn()


@pytest.fixture
def kitchen(app):
    """Registers a small kitchen needs: staff, a supplier, storage units, a dish on the menu."""
    def build():
        cook = Staff.create(name="王师傅", job="厨师", health_cert_no="HC-1",
                            health_cert_expiry=clock().today() + dt.timedelta(days=200))
        checker = Staff.create(name="李班长", job="班长")
        for topic in ("tableware", "procurement"):
            Training.create(staff=cook, topic=topic, day=clock().today() - dt.timedelta(days=30))
        good = Supplier.create(name="黄陵肉联厂", licence_no="SC-1", licence_expiry=clock().today() + dt.timedelta(days=90))
        lapsed = Supplier.create(name="过期供应商", licence_no="SC-2", licence_expiry=clock().today() - dt.timedelta(days=3))
        units = {k: StorageUnit.create(name=f"{k}-1", kind=k, owner=cook, checker=checker)
                 for k in ("dry", "cold_room", "freezer", "sample_fridge")}
        dish = add_dish("红烧肉", "Braised pork", 1200)
        audit.seal("test", "test.kitchen")  # registers made behind the app's back, vouched for here
        slot = clock().slot()  # a sample is retained during its meal: the meal served now or last
        sample_at = clock().window(slot.meal).occurrence(slot.day)[0] + dt.timedelta(minutes=5)
        return {"meal": slot.meal, "sample_at": min(sample_at, clock().now()).replace(second=0, microsecond=0),"cook": cook.id, "checker": checker.id, "supplier": good.id, "lapsed": lapsed.id,
                "units": {k: u.id for k, u in units.items()}, "dish": dish.id,
                "now": clock().now().replace(second=0, microsecond=0)}
    return in_db(app, build)


def valid_entries(k):
    """One good entry of every kind."""
    now = k["now"]
    hour_ago = (now - dt.timedelta(hours=1)).isoformat(timespec="minutes")
    two_hours_ago = (now - dt.timedelta(hours=2)).isoformat(timespec="minutes")
    today = now.date()
    return {
        "procurement": {"supplier": k["supplier"], "item": "猪肉", "category": "meat", "quantity": 20,
                        "qty_unit": "kg", "batch": "B-7", "production_date": (today - dt.timedelta(days=1)).isoformat(),
                        "use_by": (today + dt.timedelta(days=4)).isoformat(), "licence_checked": True,
                        "certificate_checked": True, "quarantine_checked": True, "sensory_ok": True,
                        "package_ok": True, "storage_class": "chilled", "labelled_storage_temp": 4,
                        "arrival_temp": 5.5, "accepted": True, "received_by": k["cook"]},
        "transport": {"supplier": k["supplier"], "vehicle": "陕J·12345", "departed_at": two_hours_ago,
                      "arrived_at": hour_ago, "vehicle_cleaned": True, "food_apart_from_nonfood": True,
                      "raw_categories_apart": True, "raw_cooked_apart": True, "load_type": "frozen", "transit_temp": -18,
                      "seal_intact": True, "checked_by": k["checker"]},
        "storage": {"unit": k["units"]["cold_room"], "temperature": 3.5, "off_floor_cm": 15, "off_wall_cm": 10,
                    "labels_ok": True, "fifo_ok": True, "raw_cooked_separated": True, "expired_found": 0,
                    "inspected_by": k["checker"]},
        "produce_wash": {"meal": "lunch", "item": "黄瓜", "picked_over": True, "washed": True, "raw_eaten": True,
                         "disinfectant": "chlorine", "concentration_mg_l": 100, "soak_minutes": 10, "rinsed": True,
                         "operator": k["cook"]},
        "tableware": {"meal": "lunch", "items": "碗、餐盘", "scraped": True, "washed": True, "rinsed": True,
                      "method": "chemical", "concentration_mg_l": 250, "duration_min": 5, "rinsed_after": True,
                      "visual_ok": True,
                      "stored_clean": True, "operator": k["cook"]},
        "cooking": {"meal": "lunch", "dish": k["dish"], "core_temp": 78, "holding": "hot", "holding_temp": 65,
                    "holding_minutes": 90, "operator": k["cook"]},
        "sample": {"meal": k.get("meal", "lunch"), "dish": k["dish"], "weight_g": 150, "sealed": True,
                   "fridge": k["units"]["sample_fridge"], "fridge_temp": 4,
                   "stored_at": k["sample_at"].isoformat(timespec="minutes") if "sample_at" in k else hour_ago,
                   "operator": k["cook"]},
        "health_check": {"staff": k["cook"], "shift": "early", "fever": False, "diarrhoea": False,
                         "vomiting": False, "sore_throat": False, "hand_wound": False, "hair_covered": True,
                         "no_jewellery": True, "fit_for_work": True, "checked_by": k["checker"]},
    }


def test_every_kind_has_an_example():
    assert set(valid_entries({"now": dt.datetime(2026, 11, 26, 12), "supplier": 1, "cook": 1, "checker": 2,
                              "units": {"cold_room": 1, "sample_fridge": 2}, "dish": 1})) == set(KINDS)


# --- the JSON API ---------------------------------------------------------------

def api(app):
    client = signed_in(app, "manager")
    return client


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_api_stores_every_kind_and_lists_it(app, staff, kitchen, kind):
    client = api(app)
    entry = valid_entries(kitchen)[kind]
    r = client.post(f"/api/v1/safety/{kind}", json=entry)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["kind"] == kind and body["late"] is False
    assert (body["verdict"], body["findings"], body["warnings"]) == ("pass", [], []), body["findings"]
    assert {k: body["values"][k] for k in ("operator", "checked_by", "inspected_by", "received_by")
            if k in entry} == {k: entry[k] for k in ("operator", "checked_by", "inspected_by", "received_by")
                               if k in entry}
    listed = client.get(f"/api/v1/safety/{kind}").get_json()["records"]
    assert [r["id"] for r in listed] == [body["id"]]
    union = signed_in(app, "union")
    assert union.get(f"/api/v1/safety/{kind}").status_code == 200
    assert union.post(f"/api/v1/safety/{kind}", json=entry).status_code == 403
    assert in_db(app, lambda: SafetyRecord.select().count()) == 1


IMPOSSIBLE = [
    ("storage", {"temperature": -300}, "temperature"),
    ("cooking", {"core_temp": 1000}, "core_temp"),
    ("procurement", {"quantity": -5}, "quantity"),
    ("procurement", {"quantity": "twenty"}, "quantity"),
    ("procurement", {"use_by": "2020-01-01", "production_date": "2020-02-01"}, "use_by"),
    ("procurement", {"production_date": "2099-01-01", "use_by": "2099-02-01"}, "production_date"),
    ("procurement", {"supplier": 9999}, "supplier"),
    ("procurement", {"category": "explosives"}, "category"),
    ("procurement", {"accepted": "maybe"}, "accepted"),
    ("procurement", {"arrival_temp": None}, "arrival_temp"),  # required for chilled goods
    ("procurement", {"accepted": False}, "reject_reason"),
    ("storage", {"unit": 424242}, "unit"),
    ("storage", {"temperature": None}, "temperature"),  # a cold room needs its reading
    ("storage", {"expired_found": 3}, "expired_action"),
    ("storage", {"expired_found": 1.5}, "expired_found"),
    ("transport", {"arrived_at": "2000-01-01T00:00"}, "arrived_at"),
    ("sample", {"stored_at": "2099-01-01T08:00"}, "stored_at"),
    ("sample", {"weight_g": None}, "weight_g"),
    ("tableware", {"method": "chemical", "concentration_mg_l": None}, "concentration_mg_l"),
    ("health_check", {"staff": "王师傅"}, "staff"),
    ("health_check", {"surprise": 1}, "surprise"),
    ("cooking", {"dish": 0}, "dish"),
    ("cooking", {"meal": "brunch"}, "meal"),
]


@pytest.mark.parametrize("kind,change,field", IMPOSSIBLE)
def test_impossible_values_are_refused_naming_the_field(app, staff, kitchen, kind, change, field):
    client = api(app)
    entry = dict(valid_entries(kitchen)[kind], **change)
    r = client.post(f"/api/v1/safety/{kind}", json=entry)
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert field in body["errors"] and body["error"] and body["field"] in body["errors"]
    assert in_db(app, lambda: (SafetyRecord.select().count(), StockLot.select().count(),
                               AuditEntry.select().where(AuditEntry.action.startswith("safety")).count())) == (0, 0, 0)


@pytest.mark.parametrize("data,content_type,status", [
    ("{broken", "application/json", 400), ("[]", "application/json", 400),
    ("a=1", "application/x-www-form-urlencoded", 415),
])
def test_api_refuses_bodies_that_are_not_objects(app, staff, data, content_type, status):
    r = api(app).post("/api/v1/safety/storage", data=data, content_type=content_type)
    assert r.status_code == status and r.get_json()["field"] == "body"
    assert api(app).post("/api/v1/safety/teleport", json={}).status_code == 404


def test_unsafe_but_possible_facts_are_recorded_with_warnings(app, staff, kitchen):
    client = api(app)
    today = kitchen["now"].date()
    entry = dict(valid_entries(kitchen)["procurement"], supplier=kitchen["lapsed"], arrival_temp=11,
                 use_by=(today - dt.timedelta(days=1)).isoformat(),
                 production_date=(today - dt.timedelta(days=10)).isoformat())
    r = client.post("/api/v1/safety/procurement", json=entry)
    assert r.status_code == 201
    body = r.get_json()
    assert body["verdict"] == "fail"
    assert {f["item"] for f in body["findings"]} == {"PROC-01", "PROC-05", "PROC-08", "PROC-09"}
    assert len(body["warnings"]) == 4  # licence, use-by, temperature (two limits)
    assert in_db(app, lambda: SafetyRecord.get().values()["arrival_temp"]) == 11


def test_a_token_can_post_readings(app, kitchen):
    from canteen.office.accounts import ApiToken
    _row, secret = in_db(app, lambda: ApiToken.issue("cold-room-probe", "manager"))
    entry = valid_entries(kitchen)["storage"]
    r = app.test_client().post("/api/v1/safety/storage", json=entry, headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 201 and r.get_json()["author"] == "token:cold-room-probe"


# --- amendments, late entries, audit ----------------------------------------------

def test_a_correction_keeps_the_original_with_reason_and_author(app, staff, kitchen):
    client = api(app)
    entry = valid_entries(kitchen)["storage"]
    record_id = client.post("/api/v1/safety/storage", json=entry).get_json()["id"]
    fixed = dict(entry, temperature=4.5)
    assert client.post(f"/api/v1/safety/storage/{record_id}/amendments", json={"entry": fixed}).status_code == 422
    assert client.post(f"/api/v1/safety/storage/{record_id}/amendments",
                       json={"entry": entry, "reason": "no change"}).status_code == 422
    r = client.post(f"/api/v1/safety/storage/{record_id}/amendments",
                    json={"entry": fixed, "reason": "misread the display"})
    assert r.status_code == 201 and r.get_json()["version"] == 2
    record = in_db(app, lambda: SafetyRecord.get_by_id(record_id))
    assert record.original()["temperature"] == 3.5 and record.values()["temperature"] == 4.5
    amendment = in_db(app, lambda: SafetyAmendment.get())
    assert (amendment.reason, amendment.author, json.loads(amendment.changed)) == \
        ("misread the display", "user:manager", ["temperature"])
    page = client.get(f"/safety/storage/{record_id}").get_data(as_text=True)
    assert "misread the display" in page and "3.5" in page and "4.5" in page


def test_a_correction_may_move_when_it_happened_and_the_first_time_stays_on_record(app, staff, kitchen):
    """A reading written down at 08:30 that was taken at 07:30: the time is corrected like any
    value (reason, author, audited), the entry becomes late, and the first time is kept."""
    client = api(app)
    entry = valid_entries(kitchen)["storage"]
    minute = "%Y-%m-%dT%H:%M"
    taken = kitchen["now"] - dt.timedelta(minutes=5)
    record_id = client.post("/api/v1/safety/storage", json=dict(entry, occurred_at=taken.strftime(minute))).get_json()["id"]
    first = in_db(app, lambda: SafetyRecord.get_by_id(record_id).occurred_at)
    url = f"/api/v1/safety/storage/{record_id}/amendments"
    same = client.post(url, json={"entry": dict(entry, occurred_at=taken.strftime(minute)), "reason": "same"})
    assert same.status_code == 422 and same.get_json()["field"] == "reason"  # nothing changed
    ahead = client.post(url, json={"entry": dict(entry, occurred_at=(kitchen["now"] + dt.timedelta(hours=2))
                                                 .strftime(minute)), "reason": "typo"})
    assert ahead.status_code == 422 and ahead.get_json()["field"] == "occurred_at"
    after_entry = client.post(url, json={"entry": dict(entry, occurred_at=(kitchen["now"] + dt.timedelta(minutes=5))
                                                       .strftime(minute)), "reason": "typo"})
    assert after_entry.status_code == 422 and after_entry.get_json()["field"] == "occurred_at"
    earlier = kitchen["now"] - dt.timedelta(minutes=65)
    r = client.post(url, json={"entry": dict(entry, occurred_at=earlier.strftime(minute)),
                               "reason": "read at 07:30, written down later"})
    assert r.status_code == 201, r.get_json()
    moved = in_db(app, lambda: clock().local_to_utc(earlier))
    assert (r.get_json()["occurred_at"], r.get_json()["late"], r.get_json()["version"]) == \
        (moved.isoformat() + "Z", True, 2)
    record = in_db(app, lambda: SafetyRecord.get_by_id(record_id))
    assert (record.occurred_at, record.day, record.values()) == (moved, earlier.date(), record.original())
    amendment = in_db(app, lambda: SafetyAmendment.get())
    assert (amendment.occurred_before, amendment.occurred_after, json.loads(amendment.changed)) == \
        (first, moved, ["occurred_at"])
    assert app.test_cli_runner().invoke(args=["verify-audit"]).exit_code == 0
    logged = in_db(app, lambda: AuditEntry.select().where(AuditEntry.action == "safety.storage.amend").get())
    assert logged.details()["before"] == {"occurred_at": first.isoformat()}
    assert logged.details()["after"] == {"occurred_at": moved.isoformat()}
    page = signed_in(app, "manager").get(f"/safety/storage/{record_id}").get_data(as_text=True)
    shown = in_db(app, lambda: [clock().to_local(t).strftime("%Y-%m-%d %H:%M") for t in (first, moved)])
    assert f"When it happened: {shown[0]} → {shown[1]}" in page


def test_the_correction_form_offers_when_it_happened(app, staff, kitchen):
    entry = valid_entries(kitchen)["storage"]
    record_id = api(app).post("/api/v1/safety/storage", json=entry).get_json()["id"]
    client = signed_in(app, "manager")
    path = f"/safety/storage/{record_id}/amend"
    shown = in_db(app, lambda: clock().to_local(SafetyRecord.get_by_id(record_id).occurred_at))
    assert f'name="occurred_at" type="datetime-local" value="{shown.strftime("%Y-%m-%dT%H:%M")}"' in \
        client.get(path).get_data(as_text=True)
    earlier = shown - dt.timedelta(minutes=40)
    data = dict(form_data(entry), csrf_token=csrf_token(client, path), reason="taken before the delivery",
                occurred_at=earlier.strftime("%Y-%m-%dT%H:%M"))
    assert client.post(path, data=data).status_code == 302
    record = in_db(app, lambda: SafetyRecord.get_by_id(record_id))
    assert in_db(app, lambda: clock().to_local(record.occurred_at)) == earlier.replace(second=0, microsecond=0)


def test_two_corrections_at_once_become_two_versions_not_a_500(app, staff, kitchen):
    """QA: six corrections of one entry sent at once answered 500 five times (each took the next
    version number of the entry it had read). A request holding the entry as it was before
    another correction now follows that correction."""
    from canteen.safety import service

    entry = valid_entries(kitchen)["storage"]
    record_id = api(app).post("/api/v1/safety/storage", json=entry).get_json()["id"]
    first, stale = (in_db(app, lambda: SafetyRecord.get_by_id(record_id)) for _ in range(2))
    in_db(app, lambda: service.amend(first, dict(entry, temperature=4.5), "misread", "user:manager"))
    amendment, _verdict = in_db(app, lambda: service.amend(stale, dict(entry, temperature=5.0), "misread again",
                                                            "user:deputy"))
    assert amendment.version == 3
    assert json.loads(amendment.changed) == ["temperature"]
    with pytest.raises(EntryErrors):  # the same correction a second time changes nothing
        in_db(app, lambda: service.amend(stale, dict(entry, temperature=5.0), "double tap", "user:manager"))
    record = in_db(app, lambda: SafetyRecord.get_by_id(record_id))
    assert (record.version, record.values()["temperature"]) == (3, 5.0)
    assert in_db(app, lambda: SafetyAmendment.select().count()) == 2
    assert app.test_cli_runner().invoke(args=["verify-audit"]).exit_code == 0


def test_the_correction_form_says_what_is_wrong_with_the_reason_in_chinese(app, staff, kitchen):
    """QA: on the Chinese correction form the reason's errors were English ("Give the reason for
    the correction", "Nothing was changed")."""
    entry = valid_entries(kitchen)["storage"]
    record_id = api(app).post("/api/v1/safety/storage", json=entry).get_json()["id"]
    client = signed_in(app, "manager", lang="zh_CN")
    path = f"/safety/storage/{record_id}/amend"
    same = dict(form_data(entry), csrf_token=csrf_token(client, path))
    for data, said in ((dict(same, temperature="4.5"), "请填写更正的理由"),
                       (dict(same, reason="读数抄错"), "没有任何改动")):
        r = client.post(path, data=data)
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and said in page, page
        assert "Give the reason" not in page and "Nothing was changed" not in page
    assert in_db(app, lambda: SafetyAmendment.select().count()) == 0


def test_an_entry_for_an_earlier_time_is_marked_late(app, staff, kitchen):
    client = api(app)
    earlier = (kitchen["now"] - dt.timedelta(hours=3)).isoformat(timespec="minutes")
    r = client.post("/api/v1/safety/storage", json=dict(valid_entries(kitchen)["storage"], occurred_at=earlier))
    assert r.status_code == 201 and r.get_json()["late"] is True
    future = (kitchen["now"] + dt.timedelta(hours=3)).isoformat(timespec="minutes")
    r = client.post("/api/v1/safety/storage", json=dict(valid_entries(kitchen)["storage"], occurred_at=future))
    assert r.status_code == 422 and r.get_json()["field"] == "occurred_at"
    assert "Late entry" in client.get(f"/safety/storage/{in_db(app, lambda: SafetyRecord.get().id)}").get_data(as_text=True)


def test_verify_audit_finds_a_row_changed_behind_the_apps_back(app, staff, kitchen):
    client = api(app)
    for kind in ("storage", "tableware", "health_check"):
        client.post(f"/api/v1/safety/{kind}", json=valid_entries(kitchen)[kind])
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["verify-audit"])
    assert ok.exit_code == 0 and "intact" in ok.output
    victim = in_db(app, lambda: AuditEntry.select().where(AuditEntry.action == "safety.tableware.create").get().id)
    in_db(app, lambda: database.execute_sql(
        "UPDATE audit_entry SET detail = REPLACE(detail, '250', '25') WHERE id = %d" % victim))
    broken = runner.invoke(args=["verify-audit"])
    assert broken.exit_code == 1 and f"entry #{victim}" in broken.output
    in_db(app, lambda: database.execute_sql(
        "UPDATE audit_entry SET detail = REPLACE(detail, '25', '250') WHERE id = %d" % victim))
    last = in_db(app, lambda: AuditEntry.select().order_by(AuditEntry.id.desc()).get().id)
    in_db(app, lambda: database.execute_sql("DELETE FROM audit_entry WHERE id = %d" % (victim,)))
    assert runner.invoke(args=["verify-audit"]).exit_code == 1  # a removed entry breaks the next link
    assert last > victim


# --- stock, retention, the today page ------------------------------------------------

def test_accepted_goods_become_stock_and_are_drawn_down(app, staff, kitchen):
    client = api(app)
    client.post("/api/v1/safety/procurement", json=valid_entries(kitchen)["procurement"])
    rejected = dict(valid_entries(kitchen)["procurement"], accepted=False, reject_reason="smells off")
    client.post("/api/v1/safety/procurement", json=rejected)
    lot = in_db(app, lambda: StockLot.get())
    assert in_db(app, lambda: StockLot.select().count()) == 1 and lot.remaining == 20
    token = csrf_token(client, "/safety/stock")
    client.post("/safety/stock", data={"csrf_token": token, "lot": lot.id, "quantity": "25", "reason": "used"})
    assert in_db(app, lambda: StockLot.get().remaining) == 20  # more than there is: refused
    client.post("/safety/stock", data={"csrf_token": token, "lot": lot.id, "quantity": "7.5", "reason": "used"})
    assert in_db(app, lambda: StockLot.get().remaining) == 12.5
    assert "猪肉" in client.get("/safety/stock").get_data(as_text=True)


def test_nothing_younger_than_its_retention_can_be_purged(app, staff, kitchen):
    client = api(app)
    client.post("/api/v1/safety/procurement", json=valid_entries(kitchen)["procurement"])
    client.post("/api/v1/safety/storage", json=valid_entries(kitchen)["storage"])
    runner = app.test_cli_runner()
    assert "0 record(s) could be purged" in runner.invoke(args=["purge-safety"]).output
    assert "Purged 0" in runner.invoke(args=["purge-safety", "--yes"]).output
    old = dt.datetime.now() - dt.timedelta(days=800)
    in_db(app, lambda: SafetyRecord.update(recorded_at=old).where(SafetyRecord.kind == "storage").execute())
    out = runner.invoke(args=["purge-safety", "--yes"]).output
    assert "Purged 1" in out
    assert in_db(app, lambda: [r.kind for r in SafetyRecord.select()]) == ["procurement"]


def test_today_page_shows_what_is_still_missing(app, staff, kitchen):
    client = signed_in(app, "union")
    page = client.get("/safety/").get_data(as_text=True)
    assert "Morning health check of 王师傅" in page and "Temperature of cold_room-1" in page
    api(app).post("/api/v1/safety/health_check", json=valid_entries(kitchen)["health_check"])
    page = client.get("/safety/").get_data(as_text=True)
    assert "Morning health check of 王师傅" not in page and "Morning health check of 李班长" in page


# --- the forms ------------------------------------------------------------------------

def form_data(entry):
    return {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in entry.items()}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_form_of_every_kind_saves_and_shows_the_entry(app, staff, kitchen, kind):
    client = signed_in(app, "manager")
    page = client.get(f"/safety/{kind}/new")
    assert page.status_code == 200
    data = dict(form_data(valid_entries(kitchen)[kind]), csrf_token=csrf_token(client, f"/safety/{kind}/new"))
    r = client.post(f"/safety/{kind}/new", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[-3000:]
    shown = client.get(r.headers["Location"]).get_data(as_text=True)
    assert KINDS[kind].en in shown and ("王师傅" in shown or "李班长" in shown)


def test_a_bad_form_keeps_what_was_typed_and_says_why_beside_each_field(app, staff, kitchen):
    client = signed_in(app, "manager")
    data = dict(form_data(valid_entries(kitchen)["storage"]), temperature="-300", off_wall_cm="",
                csrf_token=csrf_token(client, "/safety/storage/new"))
    r = client.post("/safety/storage/new", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="temperature-error"' in html and 'id="off_wall_cm-error"' in html
    assert 'value="-300"' in html
    assert in_db(app, lambda: SafetyRecord.select().count()) == 0


def test_union_reads_but_never_writes(app, staff, kitchen):
    client = signed_in(app, "union")
    assert client.get("/safety/storage/").status_code == 200
    assert client.get("/safety/storage/new").status_code == 403
    token = csrf_token(client, "/safety/registers/suppliers")
    assert client.post("/safety/registers/suppliers", data={"csrf_token": token, "name": "x"}).status_code == 403
    assert client.post("/safety/stock", data={"csrf_token": token, "lot": 1, "quantity": 1}).status_code == 403


def test_registers_refuse_bad_input(app, staff, kitchen):
    client = signed_in(app, "manager")
    token = csrf_token(client, "/safety/registers/units")
    r = client.post("/safety/registers/units", data={"csrf_token": token, "name": "冷库2", "kind": "oven"})
    assert r.status_code == 422
    r = client.post("/safety/registers/suppliers", data={"csrf_token": token, "name": "黄陵肉联厂"})
    assert r.status_code == 422  # already registered
    r = client.post("/safety/registers/staff", data={"csrf_token": token, "name": "<b>新</b>",
                                                      "health_cert_expiry": "soon"})
    assert r.status_code == 422


def test_validator_is_pure_and_names_every_problem():
    now = dt.datetime(2026, 11, 26, 10)
    refs = lambda kind, ident: object() if ident == 1 else None  # noqa: E731
    with pytest.raises(EntryErrors) as e:
        validate(KINDS["cooking"], {"meal": "lunch", "dish": 2, "core_temp": "hot", "holding": "hot"}, refs, now)
    assert set(e.value.errors) == {"dish", "core_temp", "holding_temp", "holding_minutes", "operator"}


def test_a_worker_without_a_valid_health_certificate_is_flagged_at_the_morning_check(app, staff, kitchen):
    entry = dict(valid_entries(kitchen)["health_check"], staff=kitchen["checker"])  # no certificate
    r = api(app).post("/api/v1/safety/health_check", json=entry)
    assert r.status_code == 201
    assert {f["item"] for f in r.get_json()["findings"]} == {"HLTH-01", "HLTH-09"}  # no certificate; checked himself
    sample = api(app).post("/api/v1/safety/sample", json=valid_entries(kitchen)["sample"]).get_json()
    page = signed_in(app, "manager").get(f"/safety/sample/{sample['id']}").get_data(as_text=True)
    stored = dt.datetime.fromisoformat(valid_entries(kitchen)["sample"]["stored_at"])
    assert "Retain until" in page and (stored + dt.timedelta(hours=48)).isoformat(sep=" ", timespec="minutes") in page


def test_procurement_form_takes_a_photo_of_the_certificates(app, staff, kitchen):
    import io

    from PIL import Image

    from .test_back_office import post_form

    client = signed_in(app, "manager")
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (250, 250, 240)).save(buffer, "PNG")
    data = form_data(valid_entries(kitchen)["procurement"])
    bad = post_form(client, "/safety/procurement/new",
                    dict(data, certificate_photo=(io.BytesIO(b"%PDF-1.4"), "cert.pdf")))
    assert bad.status_code == 422 and 'id="certificate_photo-error"' in bad.get_data(as_text=True)
    r = post_form(client, "/safety/procurement/new",
                  dict(data, certificate_photo=(io.BytesIO(buffer.getvalue()), "cert.png")))
    assert r.status_code == 302
    name = in_db(app, lambda: SafetyRecord.get().values()["certificate_photo"])
    photo = client.get(f"/safety/files/{name}")  # for signed-in roles only (tests/test_security.py)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    photo.close()
    assert f"/safety/files/{name}" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_a_tightened_threshold_changes_new_verdicts_not_old_ones(app, staff, kitchen, tmp_path, db_url):
    from canteen.safety.models import SafetyVerdict

    from .conftest import make_app

    reading = dict(valid_entries(kitchen)["storage"], unit=kitchen["units"]["freezer"], temperature=-15)
    first = api(app).post("/api/v1/safety/storage", json=reading).get_json()
    assert first["verdict"] == "pass"
    override = tmp_path / "instance" / "checklist-override.toml"
    override.write_text("[items.STOR-03]\nlimit = -18\n")
    strict = make_app(db_url, tmp_path)  # the same instance folder: the override is picked up
    second = signed_in(strict, "manager").post("/api/v1/safety/storage", json=reading).get_json()
    assert second["verdict"] == "fail" and [f["item"] for f in second["findings"]] == ["STOR-03"]
    assert second["checklist_version"] != first["checklist_version"]
    old = in_db(strict, lambda: SafetyVerdict.get(SafetyVerdict.record == first["id"]))
    assert (old.verdict, old.checklist_version) == ("pass", first["checklist_version"])


def test_a_corrective_action_step_sent_twice_is_taken_once_and_says_so(app, staff, kitchen):
    """QA: a double tap on Acknowledge answered the second tap with "Required." under the cause,
    and a double tap on Record with "Someone other than the person who acted must verify",
    although both steps had been saved. The form names the step it was shown for."""
    from canteen.safety.models import CorrectiveAction

    api(app).post("/api/v1/safety/cooking", json=dict(valid_entries(kitchen)["cooking"], core_temp=62))
    action = in_db(app, lambda: CorrectiveAction.get())
    manager = signed_in(app, "manager")
    path = f"/safety/actions/{action.id}"
    page = manager.get(path).get_data(as_text=True)
    assert 'name="step" value="open"' in page
    token = csrf_token(manager, path)
    for _tap in range(2):
        r = manager.post(path, data={"csrf_token": token, "step": "open"})
        assert r.status_code == 302
    assert "That step was saved already" in manager.get(path).get_data(as_text=True)
    record = {"csrf_token": token, "step": "acknowledged", "cause": "burner too low",
              "action_taken": "cooked on to 80 ℃", "disposition": "reworked"}
    assert manager.post(path, data=record).status_code == 302
    again = dict(record, cause="a second, different cause")
    assert manager.post(path, data=again).status_code == 302
    page = manager.get(path).get_data(as_text=True)
    assert "That step was saved already" in page and "must verify" not in page
    done = in_db(app, lambda: CorrectiveAction.get())
    assert (done.status, done.cause) == ("action_recorded", "burner too low")


def test_two_people_recording_one_step_at_once_do_not_overwrite_each_other(app, staff, kitchen):
    """QA: the step was judged on the action as each request had read it, so two tablets
    recording the action at once both wrote it, the later one replacing the earlier's cause."""
    from canteen.safety.models import CorrectiveAction
    from canteen.safety.service import advance_action

    api(app).post("/api/v1/safety/cooking", json=dict(valid_entries(kitchen)["cooking"], core_temp=62))
    get = lambda: CorrectiveAction.get()  # noqa: E731
    assert in_db(app, lambda: advance_action(get(), {}, "user:manager", str)) == {}
    mine, theirs = in_db(app, get), in_db(app, get)
    done = {"cause": "burner too low", "action_taken": "cooked on to 80 ℃", "disposition": "reworked"}
    assert in_db(app, lambda: advance_action(mine, done, "user:manager", str)) == {}
    late = dict(done, cause="a different cause")
    assert in_db(app, lambda: advance_action(theirs, late, "user:deputy", str)) == {"status": "moved"}
    stored = in_db(app, get)
    assert (stored.status, stored.cause, stored.acted_by) == ("action_recorded", "burner too low", "user:manager")


def test_serious_findings_open_corrective_actions_that_walk_to_verified(app, staff, kitchen):
    from canteen.safety.models import CorrectiveAction


    in_db(app, lambda: make_user("deputy", "manager"))
    hot = dict(valid_entries(kitchen)["cooking"], core_temp=62)
    record = api(app).post("/api/v1/safety/cooking", json=hot).get_json()
    assert record["verdict"] == "fail"
    action = in_db(app, lambda: CorrectiveAction.get())
    assert (action.item, action.severity, action.status, action.owner) == ("COOK-01", "critical", "open", "manager")
    assert action.due_at - action.opened_at == dt.timedelta(hours=24)
    manager = signed_in(app, "manager")
    path = f"/safety/actions/{action.id}"
    step = lambda client, **data: client.post(path, data=dict(data, csrf_token=csrf_token(client, path)))  # noqa: E731
    assert step(manager).status_code == 302
    r = step(manager, cause="burner too low")
    assert r.status_code == 422  # the action taken and the product's fate are missing
    assert step(manager, cause="burner too low", action_taken="cooked on to 80 ℃", disposition="reworked").status_code == 302
    assert step(manager, verification="checked 81 ℃").status_code == 422  # not by the one who acted
    deputy = signed_in(app, "deputy")
    assert step(deputy, verification="checked").status_code == 422  # a temperature needs a re-check reading
    r = step(deputy, verification="checked", recheck_value="65")
    assert r.status_code == 422 and "still outside the limit" in r.get_data(as_text=True)
    assert in_db(app, lambda: CorrectiveAction.get()).recheck_verdict == "fail"  # recorded and judged
    assert step(deputy, verification="checked 81 ℃", recheck_value="81").status_code == 302
    done = in_db(app, lambda: CorrectiveAction.get())
    assert (done.status, done.acted_by, done.verified_by, done.disposition) == \
        ("verified", "user:manager", "user:deputy", "reworked")
    assert (done.recheck_value, done.recheck_verdict) == (81, "pass")
    union = signed_in(app, "union")  # with a valid token: the role check answers, not CSRF
    assert step(union, verification="checked").status_code == 403
    minor = dict(valid_entries(kitchen)["storage"], off_floor_cm=5)  # minor: no action opened
    api(app).post("/api/v1/safety/storage", json=minor)
    assert in_db(app, lambda: CorrectiveAction.select().count()) == 1
