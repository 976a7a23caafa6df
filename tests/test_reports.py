"""The dish scoreboard: fair scores from counted votes, privacy, exports."""
import csv
import datetime as dt
import io

from openpyxl import load_workbook

from canteen.feedback.models import Rating
from canteen.models import database
from canteen.reports.scoring import bayesian_average, wilson_interval

from .conftest import signed_in


def seed(app, dishes):
    def run():
        day = dt.date(2026, 11, 20)
        n = 0

        def vote(dish, score, meal="lunch", **extra):
            nonlocal n
            n += 1
            Rating.create(dish=dish, score=score, channel="kiosk", client_id=f"rep-{n:06d}", day=day, meal=meal,
                          voted_at=dt.datetime(2026, 11, 20, 4), **extra)
        for score in [5] * 20 + [4] * 5 + [2] * 5:  # 30 votes, 25 good
            vote(dishes["pork"], score)
        for score in (3, 3, 4, 2, 3, 3, 4, 3):  # 8 votes: shown, but not enough for a score
            vote(dishes["noodles"], score, meal="dinner")
        for score in (1, 1, 1):  # 3 voters: suppressed
            vote(dishes["rice"], score)
        for score in (2, 2, 2, 2):  # 4 voters: suppressed; with rice 7, so nothing else need hide
            vote(dishes["offmenu"], score)
        for _ in range(10):  # a burst: kept, flagged, not counted
            vote(dishes["pork"], 1, flag="burst")
    with app.app_context(), database.connection_context():
        run()


def test_scoreboard_fair_scores_privacy_and_left_out(app, staff, dishes):
    seed(app, dishes)
    page = signed_in(app, "union").get("/reports/scoreboard?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    total = sum([5] * 20 + [4] * 5 + [2] * 5) + sum((3, 3, 4, 2, 3, 3, 4, 3)) + 3 + 8
    prior = total / 45
    fair = bayesian_average(sum([5] * 20 + [4] * 5 + [2] * 5), 30, prior, 10)
    assert f"<strong>{fair:.2f}</strong>" in page
    low, high = wilson_interval(25, 30)
    assert f"({low * 100:.0f}–{high * 100:.0f} %)" in page
    assert "not enough votes yet" in page and "Fewer than 5 voters" in page  # REPORT_MIN_GROUP = 5
    assert "45 votes counted; 10 flagged or replaced votes left out" in page
    dinner = signed_in(app, "union").get("/reports/scoreboard?from=2026-11-01&to=2026-11-30&meal=dinner")
    assert "Braised pork belly" not in dinner.get_data(as_text=True)


def test_scoreboard_exports_the_same_table(app, staff, dishes):
    seed(app, dishes)
    client = signed_in(app, "manager")
    r = client.get("/reports/scoreboard?from=2026-11-01&to=2026-11-30&format=csv")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:5] == ["dish", "price", "votes", "mean", "fair"]
    by_dish = {row[0]: row for row in rows[1:]}
    assert by_dish["Braised pork belly"][2] == "30" and by_dish["Steamed rice"][3] == ""  # suppressed
    book = load_workbook(io.BytesIO(client.get("/reports/scoreboard?from=2026-11-01&to=2026-11-30&format=xlsx").data))
    assert [c.value for c in book["scoreboard"][1]][:3] == ["dish", "price", "votes"]
    assert book["scoreboard"].max_row == len(rows)
    assert client.get("/reports/scoreboard?from=nope").status_code == 400
