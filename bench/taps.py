"""Taps and seconds for a kitchen morning on the shared tablet (issue 16).

    python bench/taps.py [--think 0.5] [--type-delay 0.12] [--only KIND ...]

Serves a seeded canteen on loopback (SQLite) and drives Debian's Chromium (Playwright, touch
events) at 1280×800 through each food-safety log's form with a routine entry, the morning
health check of a shift of 30 (two exceptions), and a corrective action verified by a second
person. Run it against another checkout with PYTHONPATH=<checkout> to compare versions: the
driver fills whatever the page shows, so it copes with forms that pre-fill nothing.

What counts as a tap (one touch of the screen):
- a radio, checkbox, button, link or summary: 1;
- a drop-down (<select>): 2 (open the list, pick) — 0 if it already shows the wanted value;
- a text or number field: 1 to put the cursor there (the typing is counted as keystrokes,
  not taps) — 0 if it already holds the wanted value;
- a date or date-and-time field: 2 (open the picker, pick) — 0 if already right;
- each entry starts on its form (the first page load is free); saving is a tap; going back to
  the form for the next person or the next step is a tap.
Seconds are the browser's wall clock with a thinking pause of --think before every tap and
--type-delay per keystroke (a person with wet hands), so they grow with taps and typing.

The manager ("zhang") has logged each kind once before (yesterday's entries, same supplier,
units and people): that is what a form may remember. The routine entries pass the 4D checks.
"""
import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

sys.path.insert(0, os.environ.get("PYTHONPATH") or str(Path(__file__).resolve().parent.parent))
from canteen import create_app  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "pit-head-2026!"
NOW = object()  # "the time of the event: now" — a pre-filled value is taken as it is


def seed(app):
    """Accounts, registers, a menu and yesterday's entries of zhang; returns the ids used."""
    from werkzeug.security import generate_password_hash

    from canteen.clock import clock
    from canteen.models import Dish, MenuItem, database
    from canteen.office.accounts import User
    from canteen.safety import service
    from canteen.safety.models import Staff, StorageUnit, Supplier

    with app.app_context(), database.connection_context():
        for name in ("zhang", "li"):
            user = User(username=name, display_name=name.title(), active=True)
            user.set_roles(["manager"])
            user.password_hash = generate_password_hash(PASSWORD)
            if hasattr(user, "set_pin"):  # the quick switch's PIN (absent before issue 16)
                user.set_pin("4826")
            user.save()
        today = clock().today()
        cert = today + dt.timedelta(days=200)
        lead = Staff.create(name="王班长", job="班长", health_cert_expiry=cert)
        from canteen.safety.models import Training
        from canteen.vocabulary import TRAINING_TOPICS

        for topic in TRAINING_TOPICS:  # trained for every log (PROC-12 and the like)
            Training.create(staff=lead, topic=topic, day=today - dt.timedelta(days=30))
        crew = [Staff.create(name=f"厨工{i:02d}", job="厨工", health_cert_expiry=cert) for i in range(1, 31)]
        meat = Supplier.create(name="黄陵肉联厂", licence_no="SC-1", licence_expiry=cert)
        Supplier.create(name="延安蔬菜合作社", licence_no="SC-2", licence_expiry=cert)
        fridge = StorageUnit.create(name="1号冷藏柜", kind="fridge", owner=lead, checker=lead)
        samples = StorageUnit.create(name="留样冰箱", kind="sample_fridge", owner=lead, checker=lead)
        StorageUnit.create(name="干货库", kind="dry")
        slot = clock().slot()
        dishes = [Dish.create(name_zh=f"菜{i:02d}", name_en=f"Dish {i:02d}", price_fen=800) for i in range(1, 29)]
        for day in {slot.day, today}:
            for position, dish in enumerate(dishes[:8]):
                MenuItem.create(day=day, meal=slot.meal, dish=dish, position=position)
        yesterday = (clock().now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        from canteen.meals import shift_at

        shift = shift_at(clock().now() + dt.timedelta(hours=1), clock().shifts)  # the one about to start
        ids = dict(lead=lead.id, crew=[c.id for c in crew], meat=meat.id, fridge=fridge.id, samples=samples.id,
                   dish=dishes[0].id, meal=slot.meal, shift=shift if shift in ("early", "middle", "night") else "early")
        for kind, entry in routine(ids).items():
            before = (clock().now() - dt.timedelta(days=1, hours=1)).strftime("%Y-%m-%dT%H:%M")
            entry = {k: (yesterday if v is NOW else before if v == "DEPARTED" else v) for k, v in entry.items()}
            service.create(kind, dict(entry, occurred_at=yesterday), "user:zhang")
    return ids


def routine(ids):
    """A routine entry of each log (what a careful manager fills in), passing the 4D checks."""
    today = dt.date.today()
    return {
        "procurement": {"supplier": ids["meat"], "item": "猪后腿肉", "category": "meat", "quantity": 25,
                        "qty_unit": "kg", "production_date": (today - dt.timedelta(days=1)).isoformat(),
                        "use_by": (today + dt.timedelta(days=3)).isoformat(), "licence_checked": "true",
                        "certificate_checked": "true", "quarantine_checked": "true", "sensory_ok": "true",
                        "package_ok": "true", "storage_class": "chilled", "labelled_storage_temp": 4,
                        "arrival_temp": 3, "accepted": "true", "received_by": ids["lead"]},
        "transport": {"supplier": ids["meat"], "vehicle": "陕J12345", "departed_at": "DEPARTED",
                      "arrived_at": NOW, "vehicle_cleaned": "true", "food_apart_from_nonfood": "true",
                      "raw_categories_apart": "true", "raw_cooked_apart": "true", "load_type": "chilled",
                      "transit_temp": 4, "seal_intact": "true", "checked_by": ids["lead"]},
        "storage": {"unit": ids["fridge"], "temperature": 4, "off_floor_cm": 15, "off_wall_cm": 12,
                    "labels_ok": "true", "fifo_ok": "true", "raw_cooked_separated": "true", "expired_found": 0,
                    "inspected_by": ids["lead"]},
        "produce_wash": {"meal": ids["meal"], "item": "黄瓜", "picked_over": "true", "washed": "true",
                         "raw_eaten": "true", "disinfectant": "chlorine", "concentration_mg_l": 100,
                         "soak_minutes": 10, "rinsed": "true", "operator": ids["lead"]},
        "tableware": {"meal": ids["meal"], "items": "餐盘、碗筷", "scraped": "true", "washed": "true",
                      "rinsed": "true", "method": "dishwasher", "temperature_c": 85, "rinse_seconds": 40,
                      "visual_ok": "true", "stored_clean": "true", "operator": ids["lead"]},
        "cooking": {"meal": ids["meal"], "dish": ids["dish"], "core_temp": 75, "holding": "none",
                    "operator": ids["lead"]},
        "sample": {"meal": ids["meal"], "dish": ids["dish"], "weight_g": 150, "sealed": "true",
                   "fridge": ids["samples"], "fridge_temp": 4, "stored_at": NOW, "operator": ids["lead"]},
        "health_check": {"staff": ids["crew"][0], "shift": ids["shift"], "fever": "false", "diarrhoea": "false",
                         "vomiting": "false", "sore_throat": "false", "hand_wound": "false",
                         "hair_covered": "true", "no_jewellery": "true", "fit_for_work": "true",
                         "checked_by": ids["lead"]},
    }


class Person:
    """Touches the tablet and counts: taps, keystrokes, and the seconds it all took."""

    def __init__(self, page, think, type_delay):
        self.page, self.think, self.type_delay = page, think, type_delay
        self.taps = self.keys = 0

    def pause(self, taps=1):
        self.taps += taps
        time.sleep(self.think * taps)

    def tap(self, locator):
        self.pause()
        locator.tap()

    def submit(self, locator):
        """A tap that sends a form: returns once the answer page has loaded."""
        self.pause()
        with self.page.expect_navigation():
            locator.tap()

    def type_into(self, locator, text, focused=False):
        if not focused:  # a field the page has already put the cursor in costs no tap
            self.pause()
            locator.tap()
        locator.fill("")
        locator.press_sequentially(str(text), delay=self.type_delay * 1000)
        locator.dispatch_event("change")
        self.keys += len(str(text))

    def choose(self, select, value):
        self.pause(2)
        select.select_option(str(value))

    def pick_time(self, locator, value):
        self.pause(2)
        locator.fill(value)
        locator.dispatch_event("change")


def fill_entry(person, want):
    """Bring the form on the page to `want`, touching only what is not already right."""
    page = person.page
    preset = page.locator("[data-normal]")
    if preset.count():
        person.tap(preset)
    now = dt.datetime.now()
    for name, value in want.items():
        controls = page.locator(f"form.safety-form [name='{name}']")
        first = controls.first
        kind = first.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if kind == "input:radio":
            radio = page.locator(f"form.safety-form input[name='{name}'][value='{value}']")
            if radio.is_checked():
                continue
            if not radio.is_visible():  # a dish off the menu: behind "Other dishes…"
                person.tap(page.locator("details.more-dishes summary"))
            person.tap(radio)
        elif kind.startswith("select"):
            if first.input_value() != str(value):
                person.choose(first, value)
        elif kind in ("input:date", "input:datetime-local"):
            if value is NOW:
                if first.input_value():
                    continue
                value = now.strftime("%Y-%m-%dT%H:%M")
            elif value == "DEPARTED":
                value = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
            if first.input_value() != value:
                person.pick_time(first, value)
        else:
            current = first.input_value()
            if current == str(value) or (current and _same_number(current, value)):
                continue
            person.type_into(first, value)


def _same_number(a, b):
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def save(person, expect="**/safety/**"):
    page = person.page
    person.submit(page.locator("form.safety-form button[type=submit]").first)
    errors = page.locator(".field.has-error, .person.has-error")
    if errors.count():
        raise SystemExit(f"the entry was refused at {page.url}: {errors.first.inner_text()}")


def run_kind(person, base, kind, entry):
    """One routine entry; returns the height of the filled form (what there is to scroll through)."""
    person.page.goto(f"{base}/safety/{kind}/new")
    fill_entry(person, entry)
    person.page.wait_for_timeout(500)  # the findings preview, where there is one
    height = person.page.evaluate("document.documentElement.scrollHeight")
    save(person)
    if person.page.locator(".ask-reject").count():
        raise SystemExit(f"{kind}: the routine entry fails the 4D check: {person.page.locator('.ask-reject').inner_text()}")
    return height


def run_health_shift(person, base, ids):
    """The shift on one screen when the page exists; otherwise one form per person."""
    page = person.page
    response = page.goto(f"{base}/safety/health/shift")
    if response.status == 404:
        for n, staff in enumerate(ids["crew"]):
            if n:
                person.pause()  # back to the form for the next person
                page.goto(f"{base}/safety/health_check/new")
            else:
                page.goto(f"{base}/safety/health_check/new")
            entry = dict(routine(ids)["health_check"], staff=staff)
            if n == 3:
                entry.update(fever="true", fit_for_work="false")
            if n == 7:
                entry.update(hand_wound="true", fit_for_work="false")
            fill_entry(person, entry)
            save(person)
        return "one form per person"
    checker = page.locator("#checked_by")
    if checker.input_value() != str(ids["lead"]):
        person.choose(checker, ids["lead"])
    lead_on = page.locator(f"input[name='on-{ids['lead']}']")
    if lead_on.is_checked():
        person.tap(lead_on)
    person.tap(page.locator(f"input[name='{ids['crew'][3]}-fever']"))
    person.tap(page.locator(f"input[name='{ids['crew'][7]}-hand_wound']"))
    save(person)
    return "the shift on one screen"


def sign_in_as(person, base, username):
    page = person.page
    page.goto(f"{base}/login")
    person.type_into(page.locator("input[name=username]"), username)
    person.type_into(page.locator("input[name=password]"), PASSWORD)
    person.submit(page.locator("form:has(input[name=password]) button[type=submit]"))


def run_action(person, base, app, ids):
    """A cold fridge reading opens an action; zhang records what was done, li verifies."""
    from canteen.models import database
    from canteen.safety import service
    from canteen.safety.models import CorrectiveAction

    with app.app_context(), database.connection_context():
        entry = dict(routine(ids)["storage"], temperature=12)
        record, _verdict = service.create("storage", entry, "user:zhang")
        action = CorrectiveAction.get(CorrectiveAction.record == record)
    page = person.page
    url = f"{base}/safety/actions/{action.id}"
    page.goto(url)
    person.submit(page.locator("section.card form button[type=submit]").last)  # acknowledge
    person.type_into(page.locator("#cause"), "门封条老化")
    person.type_into(page.locator("#action_taken"), "更换门封条，食品移入2号柜")
    person.tap(page.locator("input[name=disposition][value=used]"))
    person.submit(page.locator("section.card form button[type=submit]").last)
    switch = page.locator("[data-switch-person]")
    if switch.count():  # the PIN switch of issue 16, when there
        how = "switch person (PIN)"
        person.submit(switch.first)
        person.tap(page.locator("input[name=username][value=li]"))  # the PIN field takes the focus
        person.type_into(page.locator("input[name=secret]"), "4826", focused=True)
        person.submit(page.locator("form:has(input[name=secret]) button[type=submit]"))
    else:
        how = "full sign-out and sign-in"
        person.submit(page.locator("form[action$='/logout'] button[type=submit]"))
        sign_in_as(person, base, "li")
    person.pause()  # the action's link (from the alert or the actions list)
    page.goto(url)
    person.type_into(page.locator("#verification"), "复测温度正常")
    person.type_into(page.locator("#recheck_value"), "4")
    person.submit(page.locator("section.card form button[type=submit]").last)
    with app.app_context(), database.connection_context():
        assert CorrectiveAction.get_by_id(action.id).status == "verified", "the action was not verified"
    return how


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--think", type=float, default=0.5, help="seconds before each tap")
    parser.add_argument("--type-delay", type=float, default=0.12, help="seconds per keystroke")
    parser.add_argument("--only", nargs="*", help="log kinds (or health_shift, action) to run")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    instance = tempfile.mkdtemp(prefix="canteen-taps-bench-")
    app = create_app({"INSTANCE_PATH": instance, "DATABASE_URL": f"sqlite:///{instance}/bench.db",
                      "DEMO": False, "SECRET_KEY": "bench-taps-not-secret-key", "RATE_LIMIT_ADDRESS_PER_MINUTE": 0,
                      "RATE_LIMIT_TOKEN_PER_MINUTE": 0})
    ids = seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True, locale="zh-CN")
        page = context.new_page()
        setup = Person(page, 0, 0)
        sign_in_as(setup, base, "zhang")
        flows = [(kind, entry) for kind, entry in routine(ids).items()]
        flows += [("health_shift", None), ("action", None)]
        for name, entry in flows:
            if args.only and name not in args.only:
                continue
            person = Person(page, args.think, args.type_delay)
            started = time.monotonic()
            note = ""
            if name == "health_shift":
                note = run_health_shift(person, base, ids)
            elif name == "action":
                note = run_action(person, base, app, ids)
                sign_in_as(Person(page, 0, 0), base, "zhang")
            else:
                height = run_kind(person, base, name, entry)
                note = f"filled form {height} px tall"
            seconds = time.monotonic() - started
            rows.append((name, person.taps, person.keys, seconds, note))
            print(f"{name:14} {person.taps:4d} taps {person.keys:4d} keys {seconds:7.1f} s  {note}", flush=True)
        browser.close()
    server.shutdown()
    print("\n| flow | taps | keystrokes | seconds | note |\n|---|---:|---:|---:|---|")
    for name, taps, keys, seconds, note in rows:
        print(f"| {name} | {taps} | {keys} | {seconds:.1f} | {note} |")


if __name__ == "__main__":
    main()
