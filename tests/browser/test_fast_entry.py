"""The kitchen manager's fast entry on a shared 1280×800 tablet (issue 16), in Chromium: the
morning health check of a shift of 30 in a handful of taps, and the log forms' defaults."""
import datetime as dt
import json

from canteen.clock import clock
from canteen.models import database
from canteen.safety import service
from canteen.safety.models import CorrectiveAction, SafetyRecord, Staff, Supplier, Training

from ..conftest import add_dish, make_user
from .conftest import sign_in_page

GUARD = 350  # ms after a screen change before the next tap


def in_db(live, fn):
    with live.app.app_context(), database.connection_context():
        return fn()


def crew_of_30(live):
    def build():
        make_user("zhang", "manager")
        valid = clock().today() + dt.timedelta(days=200)
        lead = Staff.create(name="李班长", job="班长", health_cert_expiry=valid)
        crew = [Staff.create(name=f"厨工{i:02d}", job="厨工", health_cert_expiry=valid) for i in range(1, 31)]
        return lead.id, [c.id for c in crew]
    return in_db(live, build)


def test_the_morning_check_of_a_shift_of_30_with_two_exceptions(browser, live):
    lead, crew = crew_of_30(live)
    context, page = sign_in_page(browser, live, "zhang")
    page.goto(f"{live.url}/safety/health/shift")
    taps = 0

    def tap(locator):
        nonlocal taps
        locator.tap()
        taps += 1

    page.locator("#checked_by").select_option(str(lead)); taps += 2  # open the list, pick (remembered next time)
    assert not page.locator(f"input[name='on-{lead}']").is_checked()  # nobody checks themselves
    tap(page.locator(f"input[name='{crew[3]}-fever']"))
    assert page.locator(f"input[name='{crew[3]}-unfit']").is_checked()  # a fever sends them off food work
    tap(page.locator(f"input[name='{crew[7]}-hair_covered']"))
    assert not page.locator(f"input[name='{crew[7]}-unfit']").is_checked()  # a cap fixes that on the spot
    assert page.locator("[data-shift-count]").inner_text() == "30 on duty · 2 with exceptions" or \
        page.locator("[data-shift-count]").inner_text() == "30 人在岗 · 2 人有异常"
    box = page.locator("form[data-shift-check] button[type=submit]").bounding_box()
    assert box["height"] >= 48 and box["y"] + box["height"] <= 800  # Save in reach without scrolling
    tap(page.locator("form[data-shift-check] button[type=submit]"))
    page.wait_for_url("**/safety/health_check/")
    assert taps <= 40
    page.get_by_text("HLTH-07").first.wait_for()  # the hygiene finding, shown at once

    def stored():
        return [(r.values(), service.latest_verdict(r)) for r in SafetyRecord.select()]
    records = in_db(live, stored)
    by_staff = {values["staff"]: (values, verdict) for values, verdict in records}
    assert sorted(by_staff) == sorted(crew) and len(records) == 30  # one each, the checker not among them
    fever, verdict = by_staff[crew[3]]
    assert (fever["fever"], fever["fit_for_work"], verdict.verdict) == (True, False, "pass")
    hair, verdict = by_staff[crew[7]]
    assert (hair["hair_covered"], hair["fit_for_work"], verdict.verdict) == (False, True, "fail")
    assert [f["item"] for f in json.loads(verdict.findings)] == ["HLTH-07"]
    others = [by_staff[c] for c in crew if c not in (crew[3], crew[7])]
    assert all(v.verdict == "pass" and values["checked_by"] == lead for values, v in others)
    assert in_db(live, lambda: CorrectiveAction.select().count()) == 0  # a minor finding needs no action
    context.close()


def test_the_shift_check_lists_its_shift_first_and_follows_another_choice(browser, live):
    lead, crew = crew_of_30(live)
    def assign():
        Staff.update(shift="early").where(Staff.id.in_(crew[:3])).execute()
        Staff.update(shift="middle").where(Staff.id.in_(crew[3:5])).execute()
        Staff.update(active=False).where(Staff.id.in_(crew[6:])).execute()  # crew[5]: no shift set
    in_db(live, assign)
    live.app.extensions["canteen_clock"].frozen = dt.datetime(2026, 11, 30, 7, 20)  # early starts at 8
    try:
        context, page = sign_in_page(browser, live, "zhang")
        page.goto(f"{live.url}/safety/health/shift")
        page.locator("#checked_by").select_option(str(lead))
        listed = lambda: page.eval_on_selector_all(  # noqa: E731
            "[data-on-shift] .person", "rows => rows.map(r => Number(r.dataset.staff))")
        ticked = lambda: {int(n.split("-")[1]) for n in page.eval_on_selector_all(  # noqa: E731
            ".on-duty input:checked", "boxes => boxes.map(b => b.name)")}
        assert sorted(listed()) == sorted([lead, *crew[:3], crew[5]])
        assert not page.locator(f".person[data-staff='{crew[3]}']").is_visible()  # folded away
        assert ticked() == {*crew[:3], crew[5]}
        page.locator("input[name=shift][value=middle]").tap()
        assert sorted(listed()) == sorted([lead, crew[3], crew[4], crew[5]])
        assert ticked() == {crew[3], crew[4], crew[5]}
        summary = page.locator(".other-shifts summary")
        assert summary.inner_text() in ("Show everyone: 3 on other shifts", "显示全部：其他班次 3 人")
        summary.tap()  # one tap away: someone of the early shift stays on
        page.wait_for_timeout(GUARD)
        page.locator(f"input[name='on-{crew[0]}']").tap()
        page.locator("form[data-shift-check] button[type=submit]").tap()
        page.wait_for_url("**/safety/health_check/")
        stored = in_db(live, lambda: sorted((r.values()["staff"], r.values()["shift"]) for r in SafetyRecord.select()))
        assert stored == sorted((p, "middle") for p in (crew[0], crew[3], crew[4], crew[5]))
        context.close()
    finally:
        live.app.extensions["canteen_clock"].frozen = None


def test_the_shift_check_fits_a_phone(browser, live):
    crew_of_30(live)
    context, page = sign_in_page(browser, live, "zhang", viewport=(390, 844))
    page.goto(f"{live.url}/safety/health/shift")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    chip = page.locator(".exc").first.bounding_box()
    assert chip["height"] >= 48
    context.close()


def test_the_staff_register_with_shifts_fits_a_phone_in_english(browser, live):
    """Six columns (the shift one too) and the retire button: the table scrolls, not the page."""
    crew_of_30(live)
    in_db(live, lambda: Staff.create(name="王师傅", job="面点师", health_cert_no="HC-2026-0001", shift="early",
                                     health_cert_expiry=clock().today() + dt.timedelta(days=90)))
    context, page = sign_in_page(browser, live, "zhang", viewport=(390, 844))
    page.get_by_role("button", name="English").click()
    page.goto(f"{live.url}/safety/registers/staff")
    assert page.get_by_role("columnheader", name="Shift").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_the_forms_start_from_now_remember_and_preset(browser, live):
    def build():
        make_user("zhang", "manager")
        valid = clock().today() + dt.timedelta(days=200)
        lead = Staff.create(name="李班长", job="班长", health_cert_expiry=valid)
        Training.create(staff=lead, topic="procurement", day=clock().today() - dt.timedelta(days=9))
        meat = Supplier.create(name="黄陵肉联厂", licence_no="SC-1", licence_expiry=valid)
        Supplier.create(name="延安蔬菜", licence_no="SC-2", licence_expiry=valid)
        today = clock().today()
        service.create("procurement", {
            "supplier": meat.id, "item": "猪后腿肉", "category": "meat", "quantity": 20, "qty_unit": "kg",
            "licence_checked": True, "certificate_checked": True, "quarantine_checked": True,
            "sensory_ok": True, "package_ok": True, "storage_class": "chilled", "labelled_storage_temp": 4,
            "arrival_temp": 3, "accepted": True, "received_by": lead.id,
            "use_by": (today + dt.timedelta(days=3)).isoformat()}, "user:zhang")
        return meat.id, lead.id
    meat, lead = in_db(live, build)
    context, page = sign_in_page(browser, live, "zhang")
    page.goto(f"{live.url}/safety/procurement/new")
    now = in_db(live, lambda: clock().now())
    shown = dt.datetime.fromisoformat(page.locator("#occurred_at").input_value())
    assert abs(shown - now.replace(second=0, microsecond=0)) <= dt.timedelta(minutes=1)  # the time: now
    assert page.locator("#supplier").input_value() == str(meat)  # remembered from this user's last delivery
    assert page.locator("#received_by").input_value() == str(lead)
    page.locator("[data-normal]").tap()  # all normal: the yes/no checks, not the measurements
    for name in ("licence_checked", "certificate_checked", "sensory_ok", "package_ok", "accepted"):
        assert page.locator(f"input[name={name}][value=true]").is_checked()
    assert page.locator("#arrival_temp").input_value() == ""
    assert page.locator("#item").get_attribute("list") == "item-suggestions"
    assert page.locator("#item-suggestions option").evaluate_all("os => os.map(o => o.value)") == ["猪后腿肉"]
    page.locator("#item").fill("猪后腿肉")  # a known item fills in how it came last time
    assert page.locator("input[name=category][value=meat]").is_checked()
    assert page.locator("input[name=storage_class][value=chilled]").is_checked()
    assert page.locator("#labelled_storage_temp").input_value() == "4"
    assert page.locator("#arrival_temp").get_attribute("inputmode") == "decimal"
    page.locator("#quantity").fill("25")
    page.locator("#arrival_temp").fill("12")
    page.locator("#arrival_temp").dispatch_event("change")
    preview = page.locator("[data-findings]")
    preview.get_by_text("PROC-", exact=False).first.wait_for()  # the findings before Save
    assert in_db(live, lambda: SafetyRecord.select().count()) == 1  # judged, nothing stored
    # a rejection makes the temperatures moot: they fold away; the reason appears
    assert page.locator("[data-field=reject_reason]").is_hidden()
    page.locator("input[name=accepted][value=false]").tap()
    assert page.locator("[data-field=arrival_temp]").is_hidden()
    assert page.locator("[data-field=reject_reason]").is_visible()
    page.locator("input[name=accepted][value=true]").tap()
    page.locator("input[name=storage_class][value=ambient]").tap()
    assert page.locator("[data-field=arrival_temp]").is_hidden()  # ambient goods: no temperature
    context.close()


def test_the_sample_form_offers_the_dishes_of_the_meal(browser, live):
    def build():
        make_user("zhang", "manager")
        add_dish("羊肉泡馍", "Mutton paomo", 1500, served=False)
    in_db(live, build)
    context, page = sign_in_page(browser, live, "zhang")
    page.goto(f"{live.url}/safety/sample/new")
    stored_at = page.locator("#stored_at").input_value()
    assert stored_at and abs(dt.datetime.fromisoformat(stored_at) - in_db(live, lambda: clock().now()).replace(
        second=0, microsecond=0)) <= dt.timedelta(minutes=1)
    for dish in live.dishes:  # on the menu now: one tap each
        assert page.get_by_role("radio", name=dish.name_zh).is_visible()
    other = page.get_by_role("radio", name="羊肉泡馍")
    assert other.is_hidden()
    page.locator("details.more-dishes summary").tap()  # the rest, one tap away
    page.wait_for_timeout(GUARD)
    other.tap()
    assert other.is_checked()
    context.close()
