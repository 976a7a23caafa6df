"""The representatives' suggestions in Chromium: a union rep records one through the form (an
error shown beside its field first), the manager accepts it, links the dish put on trial and
marks it done; the weekly report shows the section on screen, in print and in its XLSX, and
the kiosk's "you asked, we changed" names the teams that asked."""
import datetime as dt

from openpyxl import load_workbook

from canteen.clock import clock
from canteen.feedback.models import TrialDecision
from canteen.models import Dish, database

from ..conftest import make_user
from .conftest import pair, sign_in_page
from .test_reports_browser import seed_votes


def english(context, live):
    context.add_cookies([{"name": "lang", "value": "en", "url": live.url}])


def test_a_suggestion_from_the_committee_to_the_weekly_report_and_the_kiosk(browser, live, tmp_path):
    with live.app.app_context(), database.connection_context():
        make_user("li", "union")
        make_user("wang", "manager")
        today = clock().today()
        dish = Dish.create(name_zh="大盘鸡", name_en="Big plate chicken", price_fen=1400,
                           trial_start=today - dt.timedelta(days=40))
        seed_votes(dish, "lunch", [today - dt.timedelta(days=30)], [5] * 20 + [4] * 7 + [2] * 3)
        seed_votes(live.dishes[0], "lunch", [today - dt.timedelta(days=30)], [3] * 30)
        TrialDecision.create(dish=dish, decision="keep", suggested="keep", author="user:wang")

    union, page = sign_in_page(browser, live, "li")
    english(union, live)
    page.goto(f"{live.url}/reports/suggestions")
    page.locator("#new-suggestion summary").click()
    page.get_by_label("The suggestion").fill("想吃大盘鸡，夜班也要有")
    page.get_by_label("Other teams backing it (separate with commas)").fill("掘进二队，机电队")
    page.get_by_label("Where it was raised").select_option("committee")
    page.get_by_role("button", name="Record the suggestion").click()
    error = page.locator("#team-error")
    assert error.inner_text() == "Name the team, shift or place that asked."
    assert page.get_by_label("From whom: team, shift or place").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("The suggestion").input_value() == "想吃大盘鸡，夜班也要有"  # kept
    page.get_by_label("From whom: team, shift or place").fill("综采一队")
    page.get_by_role("button", name="Record the suggestion").click()
    page.wait_for_url("**/reports/suggestions/*")
    assert page.locator("#backers").inner_text() == "3 teams: 综采一队, 掘进二队, 机电队"
    union.close()

    manager, page = sign_in_page(browser, live, "wang")
    english(manager, live)
    page.goto(f"{live.url}/reports/suggestions")
    page.get_by_role("link", name="A new dish").click()
    page.get_by_label("Answer").select_option("accepted")
    page.get_by_label("What will be done (or what was done)").fill("试做大盘鸡四周")
    page.get_by_label("By when").fill((today + dt.timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Record the answer").click()
    page.wait_for_load_state()
    assert page.locator("#status").inner_text().startswith("Accepted")
    page.get_by_label("A dish put on trial").select_option(str(dish.id))
    page.get_by_role("button", name="Link", exact=True).click()
    page.wait_for_load_state()
    page.get_by_label("Answer").select_option("done")
    page.get_by_label("What will be done (or what was done)").fill("大盘鸡留在菜单上")
    page.get_by_role("button", name="Record the answer").click()
    page.wait_for_load_state()
    outcome = page.locator("#outcome")
    assert outcome.locator("h2").inner_text() == "What it produced: Kept on the menu"
    assert "Counted votes\t30" in outcome.inner_text()

    # the weekly report of this week: on screen, in print, and in its workbook
    week = "%d-W%02d" % today.isocalendar()[:2]
    page.goto(f"{live.url}/reports/weekly?week={week}")
    section = page.locator(".weekly-suggestions")
    assert section.locator("h2").inner_text() == "Workers' representatives' suggestions"
    assert "New: 1 · answered: 1 · overdue (no answer after 14 days): 0 · done: 1 · still open: 0" \
        in section.inner_text()
    done_row = section.locator("table.suggestions-done tbody tr")
    assert done_row.count() == 1
    assert "综采一队, 掘进二队, 机电队" in done_row.inner_text() and "Kept on the menu" in done_row.inner_text()
    page.emulate_media(media="print")
    assert section.is_visible() and section.bounding_box()["height"] > 50
    page.emulate_media(media="screen")
    with page.expect_download() as info:
        page.locator(".week-nav").get_by_role("link", name="XLSX").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    book = load_workbook(saved, read_only=True)
    try:
        header, *rows = book["suggestions"].iter_rows(values_only=True)
    finally:
        book.close()
    assert header[:2] == ("group", "id")
    assert sorted(r[0] for r in rows) == ["answered", "done", "new"]
    assert {r[header.index("outcome")] for r in rows} == {"kept"}
    manager.close()

    # the kiosk's "you asked, we changed" (您提意见，我们改进) names the teams, first
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    kiosk = context.new_page()
    pair(kiosk, live)
    kiosk.goto(f"{live.url}/kiosk?lang=zh_CN")
    changes = kiosk.locator("#changes")
    changes.wait_for(state="visible")
    assert changes.locator("h2").inner_text() == "您提意见，我们改进"
    first = changes.locator("li").first.inner_text()
    assert first.startswith("大盘鸡") and "综采一队、掘进二队、机电队提的建议：已留在菜单上" in first
    context.close()

    # the register and the suggestion's page fit every screen, in both languages
    for width, height in ((1920, 1080), (1366, 768), (1280, 800), (390, 844)):
        context, page = sign_in_page(browser, live, "li", viewport=(width, height))
        for lang in ("zh_CN", "en"):
            context.add_cookies([{"name": "lang", "value": lang, "url": live.url}])
            for path in ("/reports/suggestions", "/reports/suggestions/1"):
                page.goto(live.url + path)
                if path == "/reports/suggestions":
                    page.locator("#new-suggestion summary").click()
                    buttons = page.locator("#new-suggestion button, #new-suggestion select, #new-suggestion input:visible")
                    assert buttons.count() >= 7
                    assert all(b.bounding_box()["height"] >= 44 for b in buttons.all()), (width, lang)
                assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"), (width, lang, path)
        context.close()


def test_a_stale_page_cannot_mark_a_declined_suggestion_done(browser, live):
    """Two managers' pages: one declines, the other (still showing "Mark as done") is refused
    beside the field, and the page then offers only what a declined suggestion allows."""
    from canteen.reports.models import Suggestion

    with live.app.app_context(), database.connection_context():
        make_user("wang", "manager")
        today = clock().today()
        s = Suggestion.create(kind="service", text="夜班饭太凉", team="通风队", venue="teams", raised_on=today,
                              author="user:li", status="accepted", plan="加保温箱", due=today + dt.timedelta(days=7))
    context, stale = sign_in_page(browser, live, "wang")
    english(context, live)
    stale.goto(f"{live.url}/reports/suggestions/{s.id}")
    answers = stale.get_by_label("Answer")
    assert [o.get_attribute("value") for o in answers.locator("option").all()] == ["accepted", "declined", "done"]
    other = context.new_page()
    other.goto(f"{live.url}/reports/suggestions/{s.id}")
    other.get_by_label("Answer").select_option("declined")
    other.get_by_label("Why not (the representatives read this)").fill("保温箱没批下来")
    other.get_by_role("button", name="Record the answer").click()
    other.wait_for_load_state()
    assert other.locator("#status").inner_text().startswith("Declined")
    assert [o.get_attribute("value") for o in other.get_by_label("Answer").locator("option").all()] == ["accepted"]

    answers.select_option("done")
    stale.get_by_label("What will be done (or what was done)").fill("加了保温箱")
    stale.get_by_role("button", name="Record the answer").click()
    stale.wait_for_load_state()
    assert stale.locator("#answer-error").inner_text() == (
        "This suggestion was declined: it can only be accepted again, with what will be done and by when.")
    assert stale.locator("#status").inner_text().startswith("Declined")
    assert [o.get_attribute("value") for o in answers.locator("option").all()] == ["accepted"]
    context.close()
    with live.app.app_context(), database.connection_context():
        assert Suggestion.get_by_id(s.id).status == "declined"
