"""Fast entry on the kitchen tablet (issue 16): the morning health check of a whole shift in one
save (all or nothing, each record judged and audited as a single one), and the log forms'
defaults (time of the event, remembered supplier and people, all-normal preset, the meal's
dishes, earlier items). Both databases."""
import datetime as dt
import json
import re
from html import unescape

import pytest

from canteen.audit import AuditEntry
from canteen.clock import clock
from canteen.models import database
from canteen.safety import service
from canteen.safety.models import CorrectiveAction, SafetyRecord, SafetyVerdict, Staff, Supplier, Training
from canteen.safety.schema import KINDS

from .conftest import add_dish, csrf_token, make_user, signed_in


def in_db(app, fn):
    with app.app_context(), database.connection_context():
        return fn()


@pytest.fixture
def shift(app):
    """A checker and 30 kitchen staff with valid health certificates."""
    def build():
        valid = clock().today() + dt.timedelta(days=200)
        lead = Staff.create(name="李班长", job="班长", health_cert_expiry=valid)
        crew = [Staff.create(name=f"厨工{i:02d}", job="厨工", health_cert_expiry=valid) for i in range(1, 31)]
        make_user("zhang", "manager")
        make_user("li", "manager")
        return {"lead": lead.id, "crew": [c.id for c in crew]}
    return in_db(app, build)


def shift_form(client, people, lead, **extra):
    page = client.get("/safety/health/shift").get_data(as_text=True)
    shown = re.search(r'name="occurred_default" value="([^"]+)"', page).group(1)
    once = re.search(r'name="once" value="([0-9a-f]{32})"', page).group(1)
    seen = re.search(r'name="seen" value="(\d+)"', page).group(1)
    data = {"csrf_token": csrf_token(client, "/safety/health/shift"), "shift": "early", "checked_by": str(lead),
            "occurred_at": shown, "occurred_default": shown, "once": once, "seen": seen}
    data.update({f"on-{p}": "1" for p in people})
    data.update(extra)
    return data


def test_one_save_stores_one_judged_record_per_person(app, shift):
    client = signed_in(app, "zhang")
    crew = shift["crew"]
    sick, wounded = crew[3], crew[7]
    data = shift_form(client, crew, shift["lead"], **{f"{sick}-fever": "1", f"{sick}-unfit": "1",
                                                      f"{wounded}-hand_wound": "1"})
    r = client.post("/safety/health/shift", data=data)
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/safety/health_check/")

    def stored():
        records = list(SafetyRecord.select().where(SafetyRecord.kind == "health_check"))
        return ([(r.values(), r.author, r.late_by, service.latest_verdict(r).verdict) for r in records],
                [(a.record.values()["staff"], a.item, a.status) for a in CorrectiveAction.select()],
                AuditEntry.select().where(AuditEntry.action == "safety.health_check.create").count())
    records, actions, audited = in_db(app, stored)
    assert sorted(v["staff"] for v, *_ in records) == sorted(crew)  # one per person, the checker not among them
    assert audited == 30
    by_staff = {v["staff"]: (v, author, late, verdict) for v, author, late, verdict in records}
    assert all(author == "user:zhang" and late is None for _v, author, late, _ in records)
    fever = by_staff[sick][0]
    assert fever["fever"] is True and fever["fit_for_work"] is False and by_staff[sick][3] == "pass"
    wound = by_staff[wounded][0]
    assert wound["hand_wound"] is True and wound["fit_for_work"] is True and by_staff[wounded][3] == "fail"
    assert actions == [(wounded, "HLTH-06", "open")]  # the single form's finding and action
    normal = by_staff[crew[0]][0]
    assert normal == {"staff": crew[0], "shift": "early", "fever": False, "diarrhoea": False, "vomiting": False,
                      "sore_throat": False, "hand_wound": False, "hair_covered": True, "no_jewellery": True,
                      "fit_for_work": True, "checked_by": shift["lead"]}
    assert sum(1 for *_, verdict in records if verdict == "pass") == 29
    # the checker's choice is remembered for the next shift
    assert f'<option value="{shift["lead"]}" selected>' in client.get("/safety/health/shift").get_data(as_text=True)


@pytest.mark.parametrize("change,field,message", [
    ({"checked_by": "99999"}, "checked_by", "Checked by: there is no such entry in the register"),
    ({"checked_by": ""}, "checked_by", "Checked by is required"),
    ({"shift": "weekend"}, "shift", "Shift: choose one of early, middle, night"),
    ({"occurred_at": "2099-01-01T08:00"}, "occurred_at", "The time cannot be in the future"),
    ({"occurred_at": "yesterday"}, "occurred_at", "The time must be like 2026-11-26 08:30"),
])
def test_a_bad_shift_check_stores_nothing_and_says_why_beside_the_field(app, shift, change, field, message):
    client = signed_in(app, "zhang")
    data = shift_form(client, shift["crew"], shift["lead"], **change)
    r = client.post("/safety/health/shift", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert f'<p class="error" id="{field}-error" role="alert">{message}</p>' in html
    assert in_db(app, lambda: SafetyRecord.select().count()) == 0
    assert 'name="on-%d" value="1" checked' % shift["crew"][0] in html  # the ticks are kept


def test_save_sent_twice_by_a_double_tap_stores_one_record_per_person(app, shift):
    client = signed_in(app, "zhang")
    data = shift_form(client, shift["crew"][:3], shift["lead"])
    first = client.post("/safety/health/shift", data=data)
    again = client.post("/safety/health/shift", data=data)
    assert (first.status_code, again.status_code) == (302, 302)
    assert again.headers["Location"].endswith("/safety/health_check/")
    assert "This shift&#39;s check was saved already." in client.get("/safety/health_check/").get_data(as_text=True)
    assert in_db(app, lambda: SafetyRecord.select().count()) == 3
    # a new page is a new save (a second check of the same people later is theirs to make)
    assert client.post("/safety/health/shift", data=shift_form(client, shift["crew"][:3], shift["lead"])).status_code == 302
    assert in_db(app, lambda: SafetyRecord.select().count()) == 6


def test_a_shift_check_with_nobody_on_duty_is_refused(app, shift):
    client = signed_in(app, "zhang")
    data = shift_form(client, [], shift["lead"])
    r = client.post("/safety/health/shift", data=data)
    assert r.status_code == 422
    assert "Nobody is marked on duty" in r.get_data(as_text=True)
    assert in_db(app, lambda: SafetyRecord.select().count()) == 0


def test_a_batch_with_one_bad_entry_stores_none_of_them(app, shift):
    def run():
        good = {"staff": shift["crew"][0], "shift": "early", "fever": False, "diarrhoea": False, "vomiting": False,
                "sore_throat": False, "hand_wound": False, "hair_covered": True, "no_jewellery": True,
                "fit_for_work": True, "checked_by": shift["lead"]}
        bad = dict(good, staff=shift["crew"][1], fever="maybe")
        with pytest.raises(service.BatchErrors) as e:
            service.create_many("health_check", [good, bad, dict(good, staff=shift["crew"][2])], "user:zhang")
        return e.value.errors, SafetyRecord.select().count(), SafetyVerdict.select().count()
    errors, records, verdicts = in_db(app, run)
    assert errors == {1: {"fever": "Fever: must be yes or no"}}
    assert (records, verdicts) == (0, 0)


def test_a_person_checked_today_starts_unticked(app, shift):
    client = signed_in(app, "zhang")
    client.post("/safety/health/shift", data=shift_form(client, shift["crew"][:1], shift["lead"]))
    html = client.get("/safety/health/shift").get_data(as_text=True)
    assert 'name="on-%d" value="1" >' % shift["crew"][0] in html
    assert 'name="on-%d" value="1" checked' % shift["crew"][1] in html


def test_union_cannot_save_a_shift_check(app, shift):
    in_db(app, lambda: make_user("union", "union"))
    client = signed_in(app, "union")
    assert client.get("/safety/health/shift").status_code == 403


@pytest.fixture
def kitchen(app, shift):
    def build():
        cert = clock().today() + dt.timedelta(days=200)
        Training.create(staff=shift["lead"], topic="procurement", day=clock().today() - dt.timedelta(days=9))
        meat = Supplier.create(name="黄陵肉联厂", licence_no="SC-1", licence_expiry=cert)
        veg = Supplier.create(name="延安蔬菜", licence_no="SC-2", licence_expiry=cert)
        served = add_dish("红烧肉", "Braised pork", 1200)
        other = add_dish("羊肉泡馍", "Mutton paomo", 1500, served=False)
        return dict(shift, meat=meat.id, veg=veg.id, served=served.id, other=other.id, today=clock().today(),
                    now=clock().now())
    return in_db(app, build)


def delivery(k, **change):
    today = k["today"]
    entry = {"supplier": k["meat"], "item": "猪后腿肉", "category": "meat", "quantity": 20, "qty_unit": "kg",
             "production_date": (today - dt.timedelta(days=1)).isoformat(),
             "use_by": (today + dt.timedelta(days=3)).isoformat(), "licence_checked": True,
             "certificate_checked": True, "quarantine_checked": True, "sensory_ok": True, "package_ok": True,
             "storage_class": "chilled", "labelled_storage_temp": 4, "arrival_temp": 3, "accepted": True,
             "received_by": k["lead"]}
    entry.update(change)
    return entry


def test_a_new_form_starts_from_now_and_this_users_last_entry(app, kitchen):
    zhang, li = signed_in(app, "zhang"), signed_in(app, "li")
    in_db(app, lambda: service.create("procurement", delivery(kitchen), "user:zhang"))
    html = zhang.get("/safety/procurement/new").get_data(as_text=True)
    now = in_db(app, lambda: clock().now())
    shown = re.search(r'id="occurred_at" name="occurred_at" type="datetime-local" value="([^"]+)"', html).group(1)
    assert abs(dt.datetime.fromisoformat(shown) - now.replace(second=0, microsecond=0)) <= dt.timedelta(minutes=1)
    assert f'<option value="{kitchen["meat"]}" selected>' in html  # the supplier
    assert re.search(rf'<select id="received_by".*?<option value="{kitchen["lead"]}" selected>', html, re.S)
    known = re.search(r'data-known="([^"]+)"', html).group(1)  # the supplier's earlier items, for suggestions
    assert json.loads(unescape(known)) == {str(kitchen["meat"]): {"猪后腿肉": {
        "category": "meat", "qty_unit": "kg", "storage_class": "chilled", "labelled_storage_temp": 4.0}}}
    other = li.get("/safety/procurement/new").get_data(as_text=True)  # remembered per user
    assert f'<option value="{kitchen["meat"]}" selected>' not in other
    assert 'inputmode="decimal"' in html and 'inputmode="numeric"' in zhang.get("/safety/storage/new").get_data(
        as_text=True)


def test_the_all_normal_preset_lists_the_yes_no_checks_not_the_measurements(app, kitchen):
    html = signed_in(app, "zhang").get("/safety/storage/new").get_data(as_text=True)
    preset = json.loads(unescape(re.search(r'data-normal="([^"]+)"', html).group(1)))
    assert preset == {"expired_found": 0, "fifo_ok": "true", "labels_ok": "true", "raw_cooked_separated": "true"}
    normal = {f.name for f in KINDS["storage"].fields if f.normal is not None}
    assert "temperature" not in normal and "off_floor_cm" not in normal


def test_the_sample_form_offers_the_meals_dishes_first(app, kitchen):
    html = signed_in(app, "zhang").get("/safety/sample/new").get_data(as_text=True)
    menu, more = html.split('<details class="more-dishes"', 1)
    assert f'name="dish" value="{kitchen["served"]}"' in menu
    assert f'name="dish" value="{kitchen["other"]}"' in more.split("</details>", 1)[0]  # one tap away
    assert re.search(r'id="stored_at" name="stored_at" type="datetime-local" value="\d{4}-\d\d-\d\dT\d\d:\d\d"', html)


def test_a_time_left_as_prefilled_is_the_time_of_entry_an_edited_one_is_kept(app, kitchen):
    client = signed_in(app, "zhang")
    earlier = (in_db(app, lambda: clock().now()) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    base = {k: ("true" if v is True else v) for k, v in delivery(kitchen).items()}
    token = csrf_token(client, "/safety/procurement/new")
    # the page was opened an hour ago and the time left alone: the entry is not late
    r = client.post("/safety/procurement/new", data=dict(base, csrf_token=token, occurred_at=earlier,
                                                         occurred_default=earlier))
    assert r.status_code == 302
    # the time changed by hand to an hour ago: the event happened then, entered late
    r = client.post("/safety/procurement/new", data=dict(base, csrf_token=token, occurred_at=earlier,
                                                         occurred_default="2026-01-01T00:00"))
    assert r.status_code == 302
    late = in_db(app, lambda: [r.late_by is not None for r in SafetyRecord.select().order_by(SafetyRecord.id)])
    assert late == [False, True]


def test_a_log_form_sent_twice_by_a_double_tap_stores_one_entry(app, kitchen):
    client = signed_in(app, "zhang")
    page = client.get("/safety/procurement/new").get_data(as_text=True)
    once = re.search(r'name="once" value="([0-9a-f]{32})"', page).group(1)
    data = dict({k: ("true" if v is True else v) for k, v in delivery(kitchen, batch="20261130-A").items()},
                csrf_token=csrf_token(client, "/safety/procurement/new"), once=once)
    first, again = client.post("/safety/procurement/new", data=data), client.post("/safety/procurement/new", data=data)
    assert (first.status_code, again.status_code) == (302, 302)
    assert again.headers["Location"] == first.headers["Location"]  # the entry the first one stored
    assert in_db(app, lambda: [r.values()["batch"] for r in SafetyRecord.select()]) == ["20261130-A"]  # the lot's
    assert "This entry was saved already." in client.get(again.headers["Location"]).get_data(as_text=True)
    assert client.post("/safety/procurement/new", data=dict(data, once="")).status_code == 302  # no token: stored
    assert in_db(app, lambda: SafetyRecord.select().count()) == 2


def test_the_single_health_form_starts_with_the_shift_about_to_start(app, shift):
    from canteen.safety.shift_check import default_shift

    html = signed_in(app, "zhang").get("/safety/health_check/new").get_data(as_text=True)
    expected = in_db(app, lambda: default_shift(clock().now(), clock().shifts, KINDS["health_check"].field("shift").choices))
    assert re.findall(r'name="shift" value="(\w+)" checked', html) == [expected]


def roster_parts(html):
    """(ids listed on the shift, ids in the "show everyone" fold, ids ticked on duty)."""
    main, _sep, fold = html.partition("data-other-shifts")
    ids = lambda part: [int(i) for i in re.findall(r'data-staff="(\d+)"', part)]  # noqa: E731
    return ids(main), ids(fold), {int(i) for i in re.findall(r'name="on-(\d+)" value="1" checked', html)}


def test_the_shift_page_lists_the_shift_about_to_start_first(app, shift):
    crew = shift["crew"]
    def assign():
        Staff.update(shift="early").where(Staff.id.in_(crew[:4])).execute()
        Staff.update(shift="middle").where(Staff.id.in_(crew[4:10])).execute()
        Staff.update(shift="night").where(Staff.id == crew[10]).execute()
    in_db(app, assign)
    app.extensions["canteen_clock"].frozen = dt.datetime(2026, 11, 30, 7, 20)  # the early shift starts at 8
    try:
        client = signed_in(app, "zhang")
        html = client.get("/safety/health/shift").get_data(as_text=True)
        listed, folded, ticked = roster_parts(html)
        no_shift = [shift["lead"], *crew[11:]]
        assert sorted(listed) == sorted(crew[:4] + no_shift)  # the early shift and those with no shift set
        assert sorted(folded) == sorted(crew[4:11])
        assert ticked == set(crew[:4] + no_shift)  # the fold starts unticked
        assert "Show everyone: 7 on other shifts" in html
        # one tap away: someone from the fold ticked is checked with the others
        data = shift_form(client, crew[:4] + [crew[5]], shift["lead"])
        assert client.post("/safety/health/shift", data=data).status_code == 302
        checked = in_db(app, lambda: sorted(r.values()["staff"] for r in SafetyRecord.select()))
        assert checked == sorted(crew[:4] + [crew[5]])
        # a page sent back for a mistake groups by the shift posted, the fold open for a ticked person
        data = shift_form(client, [crew[6], crew[0]], shift["lead"], shift="middle", occurred_at="not a time")
        r = client.post("/safety/health/shift", data=data)
        assert r.status_code == 422
        html = r.get_data(as_text=True)
        listed, folded, _ticked = roster_parts(html)
        assert set(crew[4:10]) <= set(listed) and crew[0] in folded
        assert '<details class="other-shifts" open>' in html
    finally:
        app.extensions["canteen_clock"].frozen = None


def test_someone_taken_off_the_register_while_the_page_was_open_is_named_and_nothing_stored(app, shift):
    client = signed_in(app, "zhang")
    crew = shift["crew"]
    data = shift_form(client, crew[:5], shift["lead"])  # the page as opened
    in_db(app, lambda: Staff.update(active=False).where(Staff.id == crew[2]).execute())
    r = client.post("/safety/health/shift", data=data)
    assert r.status_code == 422
    html = unescape(r.get_data(as_text=True))
    assert ("Nothing was saved: 厨工03 was taken out of the staff register after this page was opened. "
            "Check the list and save again.") in html
    assert in_db(app, lambda: SafetyRecord.select().count()) == 0
    assert f'data-staff="{crew[2]}"' not in html and 'name="on-%d" value="1" checked' % crew[3] in html
    data.pop(f"on-{crew[2]}")  # saved again from the page as answered
    assert client.post("/safety/health/shift", data=data).status_code == 302
    assert in_db(app, lambda: sorted(r.values()["staff"] for r in SafetyRecord.select())) == sorted(
        crew[:2] + crew[3:5])


def test_the_shift_page_open_in_two_tabs_never_checks_a_person_twice(app, shift):
    """Two tabs (or two tablets) opened on the same morning: the second Save names whoever the
    first one checked meanwhile, stores nothing, and saves the others once sent again."""
    client = signed_in(app, "zhang")
    crew = shift["crew"]
    first_tab = shift_form(client, crew[:5], shift["lead"])
    second_tab = shift_form(client, crew[1:3], shift["lead"])
    assert client.post("/safety/health/shift", data=second_tab).status_code == 302
    r = client.post("/safety/health/shift", data=first_tab)
    assert r.status_code == 422
    html = unescape(r.get_data(as_text=True))
    assert ("Nothing was saved: 厨工02, 厨工03 got a morning check today after this page was opened "
            "(on another tab or tablet). They are unticked now; save again.") in html
    assert in_db(app, lambda: sorted(r.values()["staff"] for r in SafetyRecord.select())) == sorted(crew[1:3])
    ticked = set(int(i) for i in re.findall(r'name="on-(\d+)" value="1" checked', html))
    assert ticked == {crew[0], crew[3], crew[4]}
    again = dict(first_tab, seen=re.search(r'name="seen" value="(\d+)"', html).group(1))
    for person in crew[1:3]:
        again.pop(f"on-{person}")
    assert client.post("/safety/health/shift", data=again).status_code == 302
    assert in_db(app, lambda: sorted(r.values()["staff"] for r in SafetyRecord.select())) == sorted(crew[:5])


@pytest.mark.parametrize("key", ["on-99999999999999999999", "on-0", "on-\uff11\uff12"])
def test_a_forged_id_ticked_on_duty_is_refused_not_a_server_error(app, shift, key):
    """An id no page ever listed (past any database id, none, full-width digits) stores nothing
    and answers beside the roster, as a person taken off the register would."""
    client = signed_in(app, "zhang")
    data = shift_form(client, shift["crew"][:3], shift["lead"], **{key: "1"})
    r = client.post("/safety/health/shift", data=data)
    if key.startswith("on-\uff11"):  # not a number the page writes: ignored, as any unknown field
        assert r.status_code == 302
    else:
        assert r.status_code == 422 and "Nothing was saved" in unescape(r.get_data(as_text=True))
        assert in_db(app, lambda: SafetyRecord.select().count()) == 0


def test_the_roster_follows_the_canteens_own_shift_names():
    from canteen.meals import parse_shifts
    from canteen.safety.shift_check import roster_shift

    default = parse_shifts("early=08:00-16:00,middle=16:00-24:00,night=00:00-08:00")
    assert roster_shift("middle", dt.datetime(2026, 11, 30, 7, 20), default) == "middle"  # the page's choice
    four = parse_shifts("a=06:00-12:00,b=12:00-18:00,c=18:00-24:00,d=00:00-06:00")
    assert roster_shift("early", dt.datetime(2026, 11, 30, 5, 30), four) == "a"  # the one about to start
