"""A union rep in Chromium opens the dish scoreboard, filters it to last week's lunch and
downloads that table as XLSX."""
import datetime as dt

from openpyxl import load_workbook

from canteen.clock import clock
from canteen.feedback.models import Rating
from canteen.models import database

from ..conftest import make_user
from .conftest import sign_in_page


def seed_votes(dish, meal, days, scores):
    """Counted kiosk votes, one per score, spread over `days` (the rollups follow by trigger)."""
    for i, score in enumerate(scores):
        day = days[i % len(days)]
        Rating.create(dish=dish, score=score, channel="kiosk", client_id=f"b-{dish.id}-{meal}-{day}-{i}",
                      day=day, meal=meal, voted_at=dt.datetime.combine(day, dt.time(4)))


def scoreboard_votes(page):
    """{dish name: votes} as the scoreboard table shows them."""
    rows = page.locator("#scoreboard tbody tr")
    return {cells[0]: int(cells[2]) for cells in
            (rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())) if len(cells) > 2}


def test_union_rep_filters_the_scoreboard_to_last_weeks_lunch_and_downloads_xlsx(browser, live, tmp_path):
    noodles, pork, porridge = live.dishes  # B: dinner last week; A: lunch last week; C: lunch other weeks
    with live.app.app_context(), database.connection_context():
        make_user("li", "union")
        monday = clock().today() - dt.timedelta(days=clock().today().weekday() + 7)
        last_week = [monday + dt.timedelta(days=d) for d in range(7)]
        seed_votes(pork, "lunch", last_week, [5, 4, 4, 3, 5, 2, 4, 5, 3, 4, 5, 4, 1])
        seed_votes(noodles, "dinner", last_week, [3] * 14)
        around = [monday - dt.timedelta(days=1), monday + dt.timedelta(days=7)]  # just outside last week
        seed_votes(porridge, "lunch", around, [4] * 12)
    sunday = last_week[-1]

    context, page = sign_in_page(browser, live, "li")
    context.add_cookies([{"name": "lang", "value": "en", "url": live.url}])
    page.goto(f"{live.url}/reports/scoreboard")
    assert {"Braised pork belly", "Saozi noodles", "Millet porridge"} <= set(scoreboard_votes(page))

    page.locator("input[name=from]").fill(monday.isoformat())
    page.locator("input[name=to]").fill(sunday.isoformat())
    page.locator("select[name=meal]").select_option("lunch")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**meal=lunch**")
    assert scoreboard_votes(page) == {"Braised pork belly": 13}

    with page.expect_download() as info:
        page.get_by_role("link", name="XLSX").click()
    download = info.value
    assert download.suggested_filename == f"scoreboard-{monday}-{sunday}-lunch.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = load_workbook(saved, read_only=True)
    try:
        header, *rows = book["scoreboard"].iter_rows(values_only=True)
    finally:
        book.close()
    assert list(header[:3]) == ["dish", "price", "votes"]
    assert [row[:3] for row in rows] == [("Braised pork belly", 12, 13)]
    context.close()
