"""Stock follows the judgement (issue 14): a rejected delivery never enters stock, a failing
one accepted enters on hold until its corrective action's disposition settles it, an
amendment updates the lot; the stock API and the check endpoint; the form's "reject?"."""
import datetime as dt

import pytest

from canteen.jobs.models import Alert
from canteen.safety.models import CorrectiveAction, SafetyRecord, StockLot

from .conftest import csrf_token, signed_in
from .test_safety import in_db, kitchen, valid_entries  # noqa: F401


def tofu(k, **change):
    """Tofu accepted a day past its use-by."""
    today = k["now"].date()
    entry = dict(valid_entries(k)["procurement"], item="豆腐", category="soy", quantity=20,
                 quarantine_checked=None, production_date=(today - dt.timedelta(days=5)).isoformat(),
                 use_by=(today - dt.timedelta(days=1)).isoformat(), arrival_temp=5, labelled_storage_temp=4)
    entry.update(change)
    return {k_: v for k_, v in entry.items() if v is not None}


def stock(client):
    r = client.get("/api/v1/safety/stock")
    assert r.status_code == 200
    return r.get_json()["lots"]


def walk(app, action_id, disposition):
    """Acknowledge the action and record what happened to the goods."""
    manager = signed_in(app, "manager")
    path = f"/safety/actions/{action_id}"
    for data in ({}, {"cause": "supplier's cold chain", "action_taken": "called the supplier",
                      "disposition": disposition}):
        r = manager.post(path, data=dict(data, csrf_token=csrf_token(manager, path)))
        assert r.status_code == 302, r.get_data(as_text=True)


def test_a_failing_delivery_accepted_is_on_hold_until_returned(app, staff, kitchen):  # noqa: F811
    client = signed_in(app, "manager")
    saved = client.post("/api/v1/safety/procurement", json=tofu(kitchen)).get_json()
    assert saved["verdict"] == "fail"
    assert stock(client) == [{"item": "豆腐", "quantity": 20, "unit": "kg",
                              "use_by": tofu(kitchen)["use_by"], "status": "on_hold", "record_id": saved["id"]}]
    lot = in_db(app, lambda: StockLot.get())
    token = csrf_token(client, "/safety/stock")
    r = client.post("/safety/stock", data={"csrf_token": token, "lot": lot.id, "quantity": "1", "reason": "used"})
    assert in_db(app, lambda: StockLot.get().remaining) == 20  # goods on hold cannot be used
    assert "on hold" in client.get(r.headers["Location"]).get_data(as_text=True)
    record_page = client.get(f"/safety/procurement/{saved['id']}").get_data(as_text=True)
    assert "In stock" in record_page and "on hold" in record_page
    action = in_db(app, lambda: CorrectiveAction.get(CorrectiveAction.record == saved["id"]))
    walk(app, action.id, "returned")
    assert stock(client) == []
    assert signed_in(app, "union").get("/api/v1/safety/stock").status_code == 200


def test_used_after_re_inspection_releases_the_goods(app, staff, kitchen):  # noqa: F811
    client = signed_in(app, "manager")
    warm = dict(valid_entries(kitchen)["procurement"], arrival_temp=9)  # pork at 9 ℃
    saved = client.post("/api/v1/safety/procurement", json=warm).get_json()
    assert [lot["status"] for lot in stock(client)] == ["on_hold"]
    actions = in_db(app, lambda: list(CorrectiveAction.select()))
    assert len(actions) == 1  # one reading, one action ...
    assert {f["item"] for f in actions[0].findings()} == {"PROC-08", "PROC-09"}  # ... with all its findings
    walk(app, actions[0].id, "used")
    assert [(lot["status"], lot["quantity"]) for lot in stock(client)] == [("usable", 20)]
    assert saved["id"] == stock(client)[0]["record_id"]


def test_rejected_deliveries_never_enter_stock_and_amendments_follow(app, staff, kitchen):  # noqa: F811
    client = signed_in(app, "manager")
    rejected = dict(valid_entries(kitchen)["procurement"], accepted=False, reject_reason="smells off")
    client.post("/api/v1/safety/procurement", json=rejected)
    assert stock(client) == []
    good = valid_entries(kitchen)["procurement"]
    saved = client.post("/api/v1/safety/procurement", json=good).get_json()
    assert [lot["status"] for lot in stock(client)] == ["usable"]
    later = (kitchen["now"].date() + dt.timedelta(days=2)).isoformat()
    r = client.post(f"/api/v1/safety/procurement/{saved['id']}/amendments",
                    json={"entry": dict(good, quantity=15, use_by=later), "reason": "counted again"})
    assert r.status_code == 201
    assert [(lot["quantity"], lot["use_by"], lot["status"]) for lot in stock(client)] == [(15, later, "near_expiry")]
    r = client.post(f"/api/v1/safety/procurement/{saved['id']}/amendments",
                    json={"entry": dict(good, accepted=False, reject_reason="wrong cut"), "reason": "sent back"})
    assert r.status_code == 201 and stock(client) == []
    assert in_db(app, lambda: StockLot.get().remaining) == 0  # the lot stays, emptied, with its history


def test_the_check_endpoint_judges_without_storing(app, staff, kitchen):  # noqa: F811
    client = signed_in(app, "manager")
    r = client.post("/api/v1/safety/procurement/check", json=tofu(kitchen))
    body = r.get_json()
    assert r.status_code == 200 and body["verdict"] == "fail" and body["stored"] is False
    assert body["ask_reject"] is True and "PROC-05" in [f["item"] for f in body["findings"]]
    r = client.post("/api/v1/safety/storage/check", json=valid_entries(kitchen)["storage"])
    assert r.get_json()["verdict"] == "pass" and r.get_json()["ask_reject"] is False
    r = client.post("/api/v1/safety/storage/check", json=dict(valid_entries(kitchen)["storage"], temperature=-300))
    assert r.status_code == 422 and r.get_json()["field"] == "temperature"
    assert client.post("/api/v1/safety/nope/check", json={}).status_code == 404
    assert signed_in(app, "union").post("/api/v1/safety/storage/check", json={}).status_code == 403
    assert in_db(app, lambda: (SafetyRecord.select().count(), StockLot.select().count(), Alert.select().count())) \
        == (0, 0, 0)


def form_data(entry):
    return {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in entry.items()}


@pytest.mark.parametrize("decision", ["reject", "accept"])
def test_the_form_asks_reject_before_saving_a_failing_accepted_delivery(app, staff, kitchen, decision):  # noqa: F811
    client = signed_in(app, "manager")
    path = "/safety/procurement/new"
    data = dict(form_data(tofu(kitchen)), csrf_token=csrf_token(client, path))
    page = client.post(path, data=data)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Reject it?" in text and "PROC-05" in text
    assert in_db(app, lambda: SafetyRecord.select().count()) == 0  # nothing saved yet
    r = client.post(path, data=dict(data, decision=decision))
    assert r.status_code == 302, __import__("re").findall(r'class="error"[^>]*>([^<]*)', r.get_data(as_text=True))
    record = in_db(app, lambda: SafetyRecord.get())
    if decision == "reject":
        assert record.values()["accepted"] is False and "use-by" in record.values()["reject_reason"]
        assert stock(client) == []
    else:
        assert record.values()["accepted"] is True and [lot["status"] for lot in stock(client)] == ["on_hold"]


def test_a_critical_finding_alerts_the_manager_once_per_version(app, staff, kitchen):  # noqa: F811
    client = signed_in(app, "manager")
    entry = dict(valid_entries(kitchen)["storage"], temperature=10)
    saved = client.post("/api/v1/safety/storage", json=entry).get_json()
    alerts = in_db(app, lambda: list(Alert.select()))
    assert [(a.kind, a.role) for a in alerts] == [("critical_finding", "manager")]
    assert "10" in alerts[0].message_en and "贮存检查" in alerts[0].message_zh
    client.post(f"/api/v1/safety/storage/{saved['id']}/amendments",
                json={"entry": dict(entry, temperature=11), "reason": "read again"})
    assert in_db(app, lambda: Alert.select().count()) == 2  # the new version is a new reading
    assert in_db(app, lambda: CorrectiveAction.select().count()) == 1  # still one action
    client.post("/api/v1/safety/storage", json=dict(entry, off_floor_cm=5, temperature=4))  # minor only
    assert in_db(app, lambda: Alert.select().count()) == 2


def test_a_failed_save_raises_no_alert(app, staff, kitchen):  # noqa: F811
    """The alert belongs to the save's transaction: a save that fails leaves none behind."""
    client = signed_in(app, "manager")
    entry = dict(valid_entries(kitchen)["storage"], temperature=10)

    from canteen.safety import service

    def boom(*args, **kwargs):  # a fault at the very end of the save's transaction
        raise RuntimeError("the disk is full")

    original = service.audit_record
    service.audit_record = boom
    try:
        assert client.post("/api/v1/safety/storage", json=entry).status_code == 500
    finally:
        service.audit_record = original
    assert in_db(app, lambda: (SafetyRecord.select().count(), Alert.select().count())) == (0, 0)


def test_a_correction_that_makes_an_accepted_delivery_fail_asks_too(app, staff, kitchen):  # noqa: F811
    client = signed_in(app, "manager")
    saved = client.post("/api/v1/safety/procurement", json=valid_entries(kitchen)["procurement"]).get_json()
    path = f"/safety/procurement/{saved['id']}/amend"
    data = dict(form_data(dict(valid_entries(kitchen)["procurement"], arrival_temp=9)),
                reason="read the probe again", csrf_token=csrf_token(client, path))
    page = client.post(path, data=data).get_data(as_text=True)
    assert "Reject it?" in page and "PROC-09" in page
    assert in_db(app, lambda: SafetyRecord.get().version) == 1  # nothing saved yet
    assert client.post(path, data=dict(data, decision="reject")).status_code == 302
    assert in_db(app, lambda: SafetyRecord.get().values()["accepted"]) is False and stock(client) == []


def test_two_draw_downs_at_once_never_take_more_than_the_lot_holds(app, staff, kitchen):  # noqa: F811
    """QA: six taps on Take at once drew a 10 kg lot down to -40 kg (each request checked the
    lot as it had read it). A tablet still showing the full lot now gets the refusal."""
    from canteen.safety.models import StockUse
    from canteen.safety.service import StockError, take_from_lot

    client = signed_in(app, "manager")
    assert client.post("/api/v1/safety/procurement", json=tofu(kitchen)).status_code == 201
    first, stale = in_db(app, lambda: StockLot.get()), in_db(app, lambda: StockLot.get())
    in_db(app, lambda: take_from_lot(first, 20, "discarded", "user:manager"))
    assert stale.remaining == 20  # read before the first draw-down, as a concurrent request would
    with pytest.raises(StockError):
        in_db(app, lambda: take_from_lot(stale, 20, "discarded", "user:manager"))
    assert in_db(app, lambda: StockLot.get().remaining) == 0
    assert in_db(app, lambda: StockUse.select().count()) == 1
    assert app.test_cli_runner().invoke(args=["verify-audit"]).exit_code == 0
