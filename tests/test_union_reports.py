"""The union's reports beyond the scoreboard: trial verdicts and decisions, dish changes with
before/after, trends per meal/shift/place, reasons, comments and safety alerts, the weekly
report, privacy and exports."""
import csv
import datetime as dt
import io
import json
import re

import pytest
from openpyxl import load_workbook

from canteen import audit
from canteen.clock import clock
from canteen.feedback import qr
from canteen.feedback.follow_up import safety_words
from canteen.feedback.models import (
    CommentFollowUp,
    DishChange,
    QrCard,
    Rating,
    RatingTag,
    TrialDecision,
)
from canteen.jobs.models import Alert
from canteen.models import Dish
from canteen.reports.scoring import bayesian_average, wilson_interval

from .conftest import csrf_token, kiosk_client, signed_in
from .test_votes import at_lunch, in_db, phone_client, post

DAY = dt.date(2026, 10, 5)  # a Monday, long before "today" in every test run


def make_votes(app, dish, scores, day=DAY, meal="lunch", **extra):
    """Counted votes, made directly (the rollups follow through the database's triggers)."""
    def run():
        start = Rating.select().count()
        for i, score in enumerate(scores):
            Rating.create(dish=dish, score=score, channel="kiosk", client_id=f"u-{day}-{meal}-{start + i}",
                          day=day, meal=meal, voted_at=dt.datetime.combine(day, dt.time(4)), **extra)
    in_db(app, run)


def text(response):
    return response.get_data(as_text=True)


# --- trials -------------------------------------------------------------------------

@pytest.fixture
def trial_dish(app):
    """A dish whose 28-day trial ended: 27 of its 30 votes good; the canteen's other dish is
    rated 3 (so the canteen mean over the trial is below the new dish's fair score)."""
    def build():
        today = clock().today()
        dish = Dish.create(name_zh="大盘鸡", name_en="Big plate chicken", price_fen=1400,
                           trial_start=today - dt.timedelta(days=40))
        other = Dish.create(name_zh="米饭", name_en="Steamed rice", price_fen=50)
        return dish, other, today - dt.timedelta(days=30)
    dish, other, day = in_db(app, build)
    make_votes(app, dish.id, [5] * 20 + [4] * 7 + [2] * 3, day=day)
    make_votes(app, other.id, [3] * 30, day=day)
    return dish


def test_a_finished_trial_gets_a_verdict_with_its_evidence(app, staff, trial_dish):
    page = text(signed_in(app, "union").get("/reports/trials"))
    prior = (sum([5] * 20 + [4] * 7 + [2] * 3) + 90) / 60
    fair = bayesian_average(sum([5] * 20 + [4] * 7 + [2] * 3), 30, prior, 10)
    low, high = wilson_interval(27, 30)
    assert "Suggested verdict:" in page and "<strong>Keep</strong>" in page
    assert f"{fair:.2f}" in page and f"({low * 100:.0f}–{high * 100:.0f} %)" in page
    assert "Record the decision" not in page  # the union reads; the manager decides


def test_the_manager_records_a_decision_that_the_kiosk_then_shows(app, staff, trial_dish):
    client = signed_in(app, "manager")
    token = csrf_token(client, "/reports/trials")
    r = client.post(f"/reports/trials/{trial_dish.id}/decision",
                    data={"csrf_token": token, "decision": "sideways", "note": "x"})
    assert r.status_code == 422 and "Not a valid choice" in text(r)
    assert in_db(app, lambda: TrialDecision.select().count()) == 0  # nothing half-stored
    r = client.post(f"/reports/trials/{trial_dish.id}/decision",
                    data={"csrf_token": token, "decision": "keep", "note": "<b>留下</b>", "announce": "y"})
    assert r.status_code == 302
    decision = in_db(app, lambda: TrialDecision.get())
    assert decision.suggested == "keep" and decision.author == "user:manager"
    assert '"votes": 30' in decision.evidence
    assert "trial.decide" in in_db(app, lambda: [e.action for e in audit.AuditEntry.select()])
    assert "&lt;b&gt;留下&lt;/b&gt;" in text(client.get("/reports/trials"))
    menu = app.test_client().get("/api/v1/menu/current?lang=en").get_json()
    assert {"dish": "Big plate chicken", "kind": "trial_keep", "text": "Keep", "note": "<b>留下</b>"}.items() \
        <= menu["announcements"][0].items()
    union = signed_in(app, "union")
    assert union.post(f"/reports/trials/{trial_dish.id}/decision",
                      data={"csrf_token": csrf_token(union, "/reports/trials"), "decision": "drop"}).status_code == 403


def test_a_trial_still_running_says_so(app, staff):
    in_db(app, lambda: Dish.create(name_zh="胡辣汤", name_en="Hula soup", price_fen=200,
                                   trial_start=clock().today() - dt.timedelta(days=3)))
    page = text(signed_in(app, "union").get("/reports/trials"))
    assert "Trial running until" in page and "Not enough votes yet" in page


# --- a dish's changes: before and after ------------------------------------------------

def test_marking_a_recipe_change_splits_the_dish_into_before_and_after(app, staff, dishes):
    change = DAY + dt.timedelta(days=28)
    pork = dishes["pork"].id
    make_votes(app, pork, [2, 3, 2, 3, 2, 3, 2, 3, 2, 3], day=change - dt.timedelta(days=3))
    make_votes(app, pork, [5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 5], day=change + dt.timedelta(days=2))
    client = signed_in(app, "manager")
    token = csrf_token(client, f"/reports/dishes/{pork}")
    bad = client.post(f"/reports/dishes/{pork}/changes", data={"csrf_token": token, "day": "3026-01-01",
                                                                "kind": "recipe"})
    assert bad.status_code == 422 and "between 2000 and 2100" in text(bad)
    r = client.post(f"/reports/dishes/{pork}/changes",
                    data={"csrf_token": token, "day": change.isoformat(), "kind": "recipe", "note": "less salt"})
    assert r.status_code == 302
    page = text(client.get(f"/reports/dishes/{pork}?from={DAY}&to={change + dt.timedelta(days=20)}"))
    assert "10 votes, mean 2.50" in page and "12 votes, mean 4.58" in page
    low, high = wilson_interval(12, 12)
    assert f"({low * 100:.0f}–{high * 100:.0f} %)" in page
    assert "<svg" in page and "Recipe changed" in page  # the chart marks the day
    assert in_db(app, lambda: DishChange.get().author) == "user:manager"


# --- trends: meals, shifts, places; suppression ------------------------------------------

def test_trends_per_meal_include_the_night_meal_and_hide_small_weeks(app, staff, dishes):
    make_votes(app, dishes["rice"].id, [4] * 6, meal="night")
    make_votes(app, dishes["rice"].id, [2] * 4, meal="night", day=DAY + dt.timedelta(days=7))  # 4 voters
    # hidden too: the row's total minus W41 and W43 would give W42 away
    make_votes(app, dishes["rice"].id, [3] * 5, meal="night", day=DAY + dt.timedelta(days=14))
    client = signed_in(app, "union")
    url = f"/reports/trends?by=meal&from={DAY}&to={DAY + dt.timedelta(days=20)}"
    page = text(client.get(url))
    assert "Night-shift meal" in page and "4.00 <span class=\"muted\">(6)</span>" in page
    assert "<td>2.0" not in page  # the 4-vote week is suppressed, in the table…
    assert len(re.findall(r"<circle ", page)) == 1  # …and in the chart: one point, W41
    rows = list(csv.reader(io.StringIO(text(client.get(url + "&format=csv")).lstrip("\ufeff"))))
    assert rows[0] == ["meal", "week", "votes", "mean", "good_share"]
    assert ["Night-shift meal", "2026-W41", "6", "4.0", "1.0"] in rows
    assert ["Night-shift meal", "2026-W42", "", "", ""] in rows and ["Night-shift meal", "2026-W43", "", "", ""] in rows


def test_votes_are_counted_under_their_shift_and_place(app, staff, dishes):
    client = kiosk_client(app)
    for i, seconds in enumerate(range(0, 300, 60)):  # 12:00 local: the early shift (08–16)
        r = post(client, dishes["pork"], 4, f"shift-vote-{i}", voted_at=at_lunch(app, seconds),
                 employee_no=str(1000 + i))
        assert r.status_code == 201, r.get_json()
    rows = in_db(app, lambda: [(r.shift, r.place) for r in Rating.select()])
    assert rows == [("early", "canteen-exit")] * 5
    day = in_db(app, lambda: Rating.get().day)
    page = text(signed_in(app, "union").get(f"/reports/trends?by=shift&from={day}&to={day}"))
    assert "Early shift" in page
    place = text(signed_in(app, "union").get(f"/reports/scoreboard?from={day}&to={day}&place=canteen-exit"))
    assert "Braised pork belly" in place
    other = text(signed_in(app, "union").get(f"/reports/scoreboard?from={day}&to={day}&place=lamp-room"))
    assert "Braised pork belly" not in other


def test_bad_filters_are_named_beside_their_field(app, staff):
    r = signed_in(app, "union").get("/reports/scoreboard?from=yesterday&meal=brunch&dish=99999999999")
    page = text(r)
    assert r.status_code == 400
    assert 'id="from-error"' in page and 'id="meal-error"' in page and "Unknown meal." in page
    r = signed_in(app, "union").get("/reports/trends?by=cook")
    assert r.status_code == 400 and "Choose dish, meal, shift or place." in text(r)
    r = signed_in(app, "union").get("/reports/weekly?week=2026-W60")
    assert r.status_code == 400 and "Not a week" in text(r)


# --- reasons ---------------------------------------------------------------------------

def test_reason_counts_per_dish_and_per_week_hide_small_dishes(app, staff, dishes):
    def tagged():
        for i in range(12):
            r = Rating.create(dish=dishes["pork"], score=2, channel="kiosk", client_id=f"t-{i}", day=DAY, meal="lunch")
            RatingTag.create(rating=r, tag="too_salty")
        for i in range(6):  # hidden too: beside the total it would give the lone rice voter away
            Rating.create(dish=dishes["noodles"], score=4, channel="kiosk", client_id=f"n-{i}", day=DAY, meal="lunch")
        r = Rating.create(dish=dishes["rice"], score=1, channel="kiosk", client_id="t-rice", day=DAY, meal="lunch")
        RatingTag.create(rating=r, tag="cold")
    in_db(app, tagged)
    client = signed_in(app, "union")
    page = text(client.get(f"/reports/reasons?from={DAY}&to={DAY}"))
    assert "Too salty" in page and "Fewer than 5 voters" in page
    book = load_workbook(io.BytesIO(client.get(f"/reports/reasons?from={DAY}&to={DAY}&format=xlsx").data))
    by_dish = {row[0]: row for row in book["reasons by dish"].iter_rows(values_only=True)}
    header = list(by_dish["dish"])
    assert by_dish["Braised pork belly"][header.index("too_salty")] == 12
    assert by_dish["Steamed rice"][header.index("cold")] in ("", None)  # suppressed
    assert list(book["reasons by week"].iter_rows(values_only=True))[1][:2] == ("2026-W41", 19)


# --- comments ----------------------------------------------------------------------------

def test_a_safety_comment_alerts_the_manager_and_links_the_meals_samples(app, staff, dishes):
    from canteen.safety import service
    from canteen.safety.models import Staff, StorageUnit
    with app.test_request_context():
        token = qr.card_token(in_db(app, lambda: QrCard.create(label="Table 3", location="dining-hall")).id)
    phone = phone_client(app, token)
    voted = at_lunch(app)
    r = post(phone, dishes["noodles"], 1, "phone-safety", channel="phone", qr_token=token,
             comment="面里有头发 <script>x</script>", voted_at=voted)
    assert r.status_code == 201
    rating = in_db(app, lambda: Rating.get(Rating.client_id == "phone-safety"))
    assert rating.place == "dining-hall"
    alert = in_db(app, lambda: Alert.get(Alert.key == f"comment:{rating.id}"))
    assert alert.role == "manager" and "头发" in alert.message_zh and rating.day.isoformat() in alert.message_en

    def sample():
        cook = Staff.create(name="王师傅", job="厨师", health_cert_no="HC-1",
                            health_cert_expiry=clock().today() + dt.timedelta(days=200))
        fridge = StorageUnit.create(name="留样柜", kind="sample_fridge", owner=cook, checker=cook)
        noon = clock().to_local(dt.datetime.fromisoformat(voted[:-1]))
        with app.test_request_context():
            return service.create("sample", {"meal": "lunch", "dish": dishes["noodles"].id, "weight_g": 150,
                                             "sealed": True, "fridge": fridge.id, "fridge_temp": 4, "operator": cook.id,
                                             "stored_at": (noon - dt.timedelta(minutes=30)).isoformat(timespec="minutes"),
                                             # logged at that lunch, whatever the hour the test runs at
                                             "occurred_at": (dt.datetime.fromisoformat(voted[:-1])
                                                             - dt.timedelta(minutes=30)).isoformat() + "Z"},
                                  "user:manager")
    stored = in_db(app, sample)
    record_id = stored[0].id if isinstance(stored, tuple) else stored.id
    page = text(signed_in(app, "union").get(f"/reports/comments/{rating.id}"))
    assert "Food-safety report" in page and f"/safety/sample/{record_id}" in page
    assert "&lt;script&gt;" in page and "<script>x" not in page
    listed = text(signed_in(app, "union").get(f"/reports/comments?status=safety&from={rating.day}&to={rating.day}"))
    assert "面里有头发" in listed and "Food safety" in listed


def test_comments_are_searched_literally_replied_to_and_exported_safely(app, staff, dishes):
    make_votes(app, dishes["pork"].id, [2], comment="100% 太咸了")
    make_votes(app, dishes["pork"].id, [3], comment="=HYPERLINK(\"http://x\")")
    make_votes(app, dishes["rice"].id, [4], comment="饭很好 100 分")
    manager = signed_in(app, "manager")
    base = f"/reports/comments?from={DAY}&to={DAY}"
    found = text(manager.get(base + "&q=100%25"))
    assert "100% 太咸了" in found and "饭很好" not in found  # % is a character, not a wildcard
    target = in_db(app, lambda: Rating.get(Rating.comment == "100% 太咸了").id)
    token = csrf_token(manager, base)
    too_long = manager.post(f"/reports/comments/{target}", data={"csrf_token": token, "reply": "x" * 501})
    assert too_long.status_code == 422 and "500" in text(too_long)
    r = manager.post(f"/reports/comments/{target}", data={"csrf_token": token, "reply": "已减盐", "handled": "y"})
    assert r.status_code == 302
    f = in_db(app, lambda: CommentFollowUp.get(CommentFollowUp.rating == target))
    assert f.reply == "已减盐" and f.handled_by == "user:manager" and f.handled_at is not None
    assert "已减盐" in text(manager.get(base + "&status=handled"))
    assert "100% 太咸了" not in text(manager.get(base + "&status=open"))
    union = signed_in(app, "union")
    assert union.post(f"/reports/comments/{target}", data={"csrf_token": token, "reply": "x"}).status_code == 403
    rows = list(csv.reader(io.StringIO(text(union.get(base + "&format=csv")).lstrip("\ufeff"))))
    assert rows[0] == ["day", "meal", "dish", "score", "comment", "safety", "reply", "handled"]
    assert "'=HYPERLINK(\"http://x\")" in [r[4] for r in rows]  # never a live formula


@pytest.mark.parametrize("back", ["/reports/comments\r\nSet-Cookie: a=b", "/reports/comments/../..//evil.example",
                                  "/reports/comments\\..\\evil", "//evil.example/reports/comments"])
def test_a_reply_with_a_forged_return_address_is_saved_and_goes_back_to_the_comments(app, staff, dishes, back):
    """QA: a `next` with a line break answered 500 after the reply had been stored."""
    make_votes(app, dishes["pork"].id, [2], comment="太咸了")
    target = in_db(app, lambda: Rating.get(Rating.comment == "太咸了").id)
    manager = signed_in(app, "manager")
    token = csrf_token(manager, f"/reports/comments/{target}")
    r = manager.post(f"/reports/comments/{target}", data={"csrf_token": token, "reply": "已减盐", "next": back})
    assert r.status_code == 302 and r.headers["Location"] == "/reports/comments"
    assert "a=b" not in r.headers.get("Set-Cookie", "")
    assert in_db(app, lambda: CommentFollowUp.get(CommentFollowUp.rating == target).reply) == "已减盐"
    r = manager.post(f"/reports/comments/{target}", data={"csrf_token": token, "reply": "已减盐",
                                                          "next": "/reports/comments?status=open"})
    assert r.headers["Location"] == "/reports/comments?status=open"  # the list it came from


@pytest.mark.parametrize("comment", [
    "菜里有头发", "菜里有只小虫", "吃完闹肚子了", "肉不熟", "拉稀了", "汤酸了，坏了", "有根毛", "吃出一个钉子",
    "肉不新鲜，有异味", "There was a FLY in my soup", "a worm in the salad", "the chicken was raw", "I threw up",
    "puked after lunch", "a nail in the rice", "I felt ill after the soup", "broken glass in the bowl",
])
def test_safety_words_raise_the_alarm(comment):
    assert safety_words(comment), comment


@pytest.mark.parametrize("comment", [
    "臭豆腐很香", "虫草鸡汤不错", "梅干菜扣肉好吃", "花生的味道很好", "很有味道", "smells great", "Hairy crab!",
    "illustrious cooking", "a glass of soy milk", "fills the stomach", "stoneground flour", "太咸了", None,
])
def test_safety_words_leave_ordinary_comments_alone(comment):
    assert safety_words(comment) == []


# --- privacy ------------------------------------------------------------------------------

def test_no_report_or_export_shows_who_voted(app, staff, dishes):
    client = kiosk_client(app)
    for i in range(6):
        assert post(client, dishes["pork"], 5, f"private-{i}", employee_no=f"77{i:03d}",
                    voted_at=at_lunch(app, i)).status_code == 201
    keys = in_db(app, lambda: [r.voter_key for r in Rating.select()])
    day = in_db(app, lambda: Rating.get().day)
    union = signed_in(app, "union")
    pages = [f"/reports/scoreboard?from={day}&to={day}", f"/reports/trends?by=place&from={day}&to={day}",
             f"/reports/comments?from={day}&to={day}", f"/reports/weekly?week={day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"]
    for url in pages:
        for suffix in ("", "&format=csv"):
            body = union.get(url + suffix).get_data(as_text=True)
            assert not any(k in body for k in keys) and "77000" not in body and "private-0" not in body


# --- the weekly report ---------------------------------------------------------------------

def test_the_weekly_report_prints_the_same_numbers_as_the_scoreboard(app, staff, dishes):
    make_votes(app, dishes["pork"].id, [5, 5, 4, 4, 3, 5, 4, 5, 5, 4, 2, 5])
    make_votes(app, dishes["noodles"].id, [3, 2, 3, 3, 4, 2], meal="dinner")
    make_votes(app, dishes["rice"].id, [1, 1, 1], day=DAY + dt.timedelta(days=2))  # 3 voters: suppressed
    make_votes(app, dishes["pork"].id, [1] * 4, flag="burst")
    union = signed_in(app, "union")
    weekly = text(union.get("/reports/weekly?week=2026-W41"))
    board = text(union.get(f"/reports/scoreboard?from={DAY}&to={DAY + dt.timedelta(days=6)}"))
    fair = re.search(r"<strong>([\d.]+)</strong>", board).group(1)
    assert f"<strong>{fair}</strong>" in weekly
    assert "21 votes counted." in weekly and "Left out: 4 flagged" in weekly
    assert "too few to show" in weekly and "Dinner" in weekly
    assert "2026-10-05 – 2026-10-11" in weekly
    book = load_workbook(io.BytesIO(union.get("/reports/weekly?week=2026-W41&format=xlsx").data))
    assert book.sheetnames == ["dishes", "meals", "shifts", "places", "trials", "reasons", "comments", "suggestions"]
    dishes_sheet = list(book["dishes"].iter_rows(values_only=True))
    assert dishes_sheet[1][0] == "Braised pork belly" and f"{dishes_sheet[1][4]:.2f}" == fair


def test_the_weekly_export_names_a_dishs_reasons_in_the_readers_language(app, staff, dishes):
    """QA: the weekly report's dishes sheet listed reason codes (too_salty / cold) where the
    scoreboard's export and every page say 咸了 / Too salty."""
    def tagged():
        for i in range(6):
            r = Rating.create(dish=dishes["pork"], score=2, channel="kiosk", client_id=f"w-{i}", day=DAY, meal="lunch")
            RatingTag.create(rating=r, tag="too_salty")
    in_db(app, tagged)
    for lang, word in (("en", "Too salty"), ("zh_CN", "咸了")):
        union = signed_in(app, "union", lang=lang)
        book = load_workbook(io.BytesIO(union.get("/reports/weekly?week=2026-W41&format=xlsx").data))
        rows = list(book["dishes"].iter_rows(values_only=True))
        reasons = rows[1][list(rows[0]).index("reasons")]
        assert reasons == word, reasons
        board = load_workbook(io.BytesIO(union.get(
            f"/reports/scoreboard?from={DAY}&to={DAY + dt.timedelta(days=6)}&format=xlsx").data))
        board_rows = list(board.worksheets[0].iter_rows(values_only=True))
        assert board_rows[1][list(board_rows[0]).index("reasons")] == reasons


def test_every_report_export_opens_as_a_workbook(app, staff, dishes):
    make_votes(app, dishes["pork"].id, [4] * 12)
    union = signed_in(app, "union")
    span = f"from={DAY}&to={DAY + dt.timedelta(days=6)}"
    for url in (f"/reports/scoreboard?{span}", f"/reports/trends?{span}&by=dish", f"/reports/reasons?{span}",
                f"/reports/comments?{span}", "/reports/trials?", f"/reports/dishes/{dishes['pork'].id}?{span}",
                "/reports/weekly?week=2026-W41"):
        r = union.get(url + "&format=xlsx")
        assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet"), url
        book = load_workbook(io.BytesIO(r.data))
        sheet = [[("" if v is None else str(v)) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
        csv_response = union.get(url + "&format=csv")
        assert csv_response.mimetype == "text/csv" and "attachment" in csv_response.headers["Content-Disposition"]
        table = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff"))))
        # The workbook's first sheet holds the same header and rows as the CSV.
        assert len(sheet) == len(table) and sheet[0] == table[0], url
        assert len(sheet) == (1 if "/reasons" in url or "/comments" in url else 2), (url, sheet)  # header + the one dish


def test_a_new_price_in_the_dish_catalog_is_marked_on_the_dish_charts(app, staff, dishes):
    manager = signed_in(app, "manager")
    pork = dishes["pork"].id
    r = manager.post(f"/kitchen/dishes/{pork}", data={
        "csrf_token": csrf_token(manager, f"/kitchen/dishes/{pork}"), "name_zh": "红烧肉",
        "name_en": "Braised pork belly", "price": "10.50", "category": "meat"})
    assert r.status_code == 302
    change = in_db(app, lambda: DishChange.get(DishChange.dish == pork))
    assert (change.kind, change.note, change.announce) == ("price", "¥12.00 → ¥10.50", False)
    assert "¥12.00 → ¥10.50" in text(manager.get(f"/reports/dishes/{pork}"))


def test_a_small_group_cannot_be_worked_out_from_the_totals(app, staff, dishes):
    """One small dish hidden beside a shown total would be total minus the rest: the next
    smallest dish is hidden with it (secondary suppression), in the page and the export."""
    make_votes(app, dishes["pork"].id, [5] * 30)
    make_votes(app, dishes["noodles"].id, [4] * 8)
    make_votes(app, dishes["rice"].id, [1])  # one voter
    union = signed_in(app, "union")
    page = text(union.get(f"/reports/scoreboard?from={DAY}&to={DAY}"))
    assert "Fewer than 5 voters" in page and "Not shown either" in page
    rows = {r[0]: r for r in csv.reader(io.StringIO(text(union.get(
        f"/reports/scoreboard?from={DAY}&to={DAY}&format=csv")).lstrip("\ufeff")))}
    assert rows["Steamed rice"][3] == "" and rows["Saozi noodles"][3] == "" and rows["Braised pork belly"][3] == "5.0"
    week = text(union.get("/reports/weekly?week=2026-W41"))
    assert week.count("too few to show") >= 2


def test_reasons_of_too_few_votes_are_not_drawn_either(app, staff, dishes):
    def one():
        r = Rating.create(dish=dishes["rice"], score=1, channel="kiosk", client_id="lonely-1", day=DAY, meal="lunch")
        RatingTag.create(rating=r, tag="cold")
    in_db(app, one)
    page = text(signed_in(app, "union").get(f"/reports/reasons?from={DAY}&to={DAY}&dish={dishes['rice'].id}"))
    assert "Cold" not in page.split("Per dish")[0]  # no chart bar, no column for the lone voter


def test_odd_filter_values_get_a_message_not_a_crash(app, staff):
    union = signed_in(app, "union")
    for url in ("/reports/scoreboard?place=%00lamp", "/reports/comments?q=%00", "/reports/scoreboard?dish=x",
                "/reports/reasons?shift=x"):  # read leniently: an unknown filter value matches nothing
        r = union.get(url)
        assert r.status_code == 200 and "<h1>" in text(r), url
    r = union.get("/reports/trends?from=2000-01-01&to=2100-12-31&by=dish")
    assert r.status_code == 400 and "At most 731 days" in text(r) and text(r).count("<th>2") < 120


def test_a_weekly_digest_stored_before_the_weekly_report_still_opens(app, staff):
    from canteen.jobs.digests import Digest
    old = in_db(app, lambda: Digest.create(kind="weekly", period="2026-W40", body=json.dumps({
        "from": "2026-09-28", "to": "2026-10-04", "votes": 3, "best": [{"dish": "红烧肉", "mean": 4.5, "votes": 3}],
        "worst": [], "left_out": {"flagged": 0, "replaced": 0}, "trial": [], "comments": []})))
    page = text(signed_in(app, "union").get(f"/digests/{old.id}"))
    assert "红烧肉" in page and "2026-W40" in page


def test_shift_names_longer_than_a_vote_can_store_are_refused():
    from canteen.config import ConfigError
    from canteen.meals import parse_shifts
    with pytest.raises(ConfigError, match="longer than 16"):
        parse_shifts("the_very_long_morning_shift=06:00-14:00")


def test_a_miner_sees_the_canteens_reply_on_their_own_phone_only(app, staff, dishes):
    with app.test_request_context():
        token = qr.card_token(in_db(app, lambda: QrCard.create(label="Table 8")).id)
    mine, other = phone_client(app, token), phone_client(app, token)
    r = post(mine, dishes["pork"], 2, "phone-reply-1", channel="phone", qr_token=token, comment="太咸了 <b>",
             voted_at=at_lunch(app))
    assert r.status_code == 201
    manager = signed_in(app, "manager")
    rating_id = r.get_json()["id"]
    assert manager.post(f"/reports/comments/{rating_id}", data={
        "csrf_token": csrf_token(manager, "/reports/comments"), "reply": "明天起少放盐", "handled": "y"}).status_code == 302
    page = text(mine.get(f"/p/{token}"))
    assert "明天起少放盐" in page and "太咸了 &lt;b&gt;" in page
    assert "明天起少放盐" not in text(other.get(f"/p/{token}"))


def test_one_vote_does_not_show_through_the_canteen_mean_or_a_dish_total(app, staff, dishes):
    make_votes(app, dishes["pork"].id, [2])
    union = signed_in(app, "union")
    page = text(union.get(f"/reports/scoreboard?from={DAY}&to={DAY}"))
    assert "canteen's mean (—)" in page and "(2.0)" not in page
    assert "Canteen mean score" not in text(union.get("/reports/weekly?week=2026-W41"))
    make_votes(app, dishes["noodles"].id, [4] * 27, day=DAY + dt.timedelta(days=7))
    make_votes(app, dishes["noodles"].id, [1] * 4, day=DAY + dt.timedelta(days=14))  # a small week
    rows = list(csv.reader(io.StringIO(text(union.get(
        f"/reports/dishes/{dishes['noodles'].id}?from={DAY}&to={DAY + dt.timedelta(days=20)}&format=csv")).lstrip("\ufeff"))))
    weeks = {r[0]: r for r in rows[1:] if r and r[0].startswith("2026-W")}
    assert weeks["2026-W43"][2] == "" and weeks["2026-W42"][2] == ""  # 31 total − 27 would give W43 away


def test_a_past_weekly_report_shows_the_decisions_known_that_week(app, staff, trial_dish):
    in_db(app, lambda: TrialDecision.create(dish=trial_dish, decision="drop", suggested="keep", author="user:manager"))
    union = signed_in(app, "union")
    today = in_db(app, lambda: clock().today())
    this_week = "%d-W%02d" % today.isocalendar()[:2]
    ended = trial_dish.trial_start + dt.timedelta(days=27)
    that_week = "%d-W%02d" % ended.isocalendar()[:2]
    assert "<strong>Drop</strong>" in text(union.get(f"/reports/weekly?week={this_week}"))
    assert "<strong>Drop</strong>" not in text(union.get(f"/reports/weekly?week={that_week}"))
