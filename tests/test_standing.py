"""4D inspection rounds, the compliance dashboard and the inspector's export."""
import io
import re

import pytest
from openpyxl import load_workbook

from canteen.checklists.rounds import ROUNDS, score, score_by_d
from canteen.models import database
from canteen.safety.models import InspectionGrade, InspectionRound

from .conftest import csrf_token, signed_in
from .test_safety import api, kitchen, valid_entries  # noqa: F401  (fixture)


def in_db(app, fn):
    with app.app_context(), database.connection_context():
        return fn()


def test_score_rate_is_points_over_maximum():
    area = ROUNDS.areas["cold_room"]
    grades = {item.id: g for item, g in zip(area.items, ("excellent", "good", "fair", "poor"))}
    assert score(ROUNDS, grades) == (6 + 4 + 2 + 1, 24, round(100 * 13 / 24, 1))
    assert score_by_d(ROUNDS, area, grades) == {"execution": 100.0, "organisation": 50.0,
                                                "responsibility": round(100 / 6, 1)}


def round_form(client, area, grades, **extra):
    data = {"csrf_token": csrf_token(client, f"/safety/rounds/new/{area}"), "cadence": "daily"}
    for item, grade in zip(ROUNDS.areas[area].items, grades):
        data[f"grade_{item.id}"] = grade
    data.update(extra)
    return client.post(f"/safety/rounds/new/{area}", data=data)


def test_a_round_is_graded_and_weak_items_need_a_remark(app, staff):
    client = signed_in(app, "manager")
    r = round_form(client, "cold_room", ("excellent", "good", "poor"))
    assert r.status_code == 422  # one item not graded, and "poor" without a remark
    assert "Grade this item" in r.get_data(as_text=True) and "Say what is wrong" in r.get_data(as_text=True)
    r = round_form(client, "cold_room", ("excellent", "good", "poor", "excellent"), remark_C3="labels missing")
    assert r.status_code == 302
    row = in_db(app, lambda: InspectionRound.get())
    assert (row.area, row.points, row.maximum, row.rate, row.inspector) == ("cold_room", 17, 24, 70.8, "user:manager")
    assert in_db(app, lambda: InspectionGrade.get(InspectionGrade.item == "C3").remark) == "labels missing"
    page = signed_in(app, "union").get("/safety/rounds").get_data(as_text=True)
    assert "70.8 %" in page
    board = signed_in(app, "union").get("/safety/dashboard").get_data(as_text=True)
    assert "Weekly score rate per D" in board and "Weekly score rate per area" in board and "70.8" in board
    assert signed_in(app, "union").get("/safety/rounds/new/cold_room").status_code == 403
    assert client.get("/safety/rounds/new/attic").status_code == 404


def test_dashboard_shows_todays_status_actions_and_recurring_findings(app, staff, kitchen):  # noqa: F811
    client = api(app)
    client.post("/api/v1/safety/cooking", json=dict(valid_entries(kitchen)["cooking"], core_temp=60))
    client.post("/api/v1/safety/storage", json=valid_entries(kitchen)["storage"])
    page = signed_in(app, "union").get("/safety/dashboard").get_data(as_text=True)
    assert "COOK-01" in page
    assert "Open corrective actions: 1" in page
    assert re.findall(r"status-(?:failed|done)", page).count("status-failed") == 1, re.findall(r"status-[a-z]+", page)
    assert re.findall(r"status-(?:failed|done)", page).count("status-done") == 1


def test_inspector_export_as_xlsx_and_html_marks_gaps(app, staff, kitchen):  # noqa: F811
    import datetime as dt

    client = api(app)
    record = client.post("/api/v1/safety/cooking", json=dict(valid_entries(kitchen)["cooking"], core_temp=60)).get_json()
    earlier = (kitchen["now"] - dt.timedelta(hours=3)).isoformat(timespec="minutes")
    late = client.post("/api/v1/safety/storage", json=dict(valid_entries(kitchen)["storage"], occurred_at=earlier))
    late_id = late.get_json()["id"]
    client.post(f"/api/v1/safety/storage/{late_id}/amendments",
                json={"entry": dict(valid_entries(kitchen)["storage"], temperature=4.5), "reason": "misread the display"})
    html = signed_in(app, "union").get("/safety/export").get_data(as_text=True)
    assert "INCOMPLETE" in html and "Morning health check" in html and "COOK-01" in html
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert "<" not in title and "Inspector" in title
    assert "Core temperature" in html and "王师傅" in html and ">Manager<" in html  # fields as columns, names
    assert "late 18" in html and "misread the display" in html and "Prepared by" in html
    assert '"values"' not in html and "{&#34;" not in html  # no JSON
    r = signed_in(app, "union").get("/safety/export?format=xlsx")
    assert r.status_code == 200 and "INCOMPLETE" in r.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames[0] == "Summary" and "Cooking and holding" in book.sheetnames
    assert {"Storage inspection", "Amendments", "Corrective actions", "4D inspection rounds", "Incomplete"} \
        <= set(book.sheetnames)
    cooking = list(book["Cooking and holding"].iter_rows(values_only=True))
    assert cooking[0][:2] == ("No.", "Date") and "Core temperature" in cooking[0] and "Dish" in cooking[0]
    row = dict(zip(cooking[0], cooking[1]))
    assert (row["No."], row["4D check"], row["By"], row["Dish"]) == (record["id"], "fail", "Manager", "Braised pork")
    assert row["Core temperature"] == "60 ℃" and row["Operator"] == "王师傅" and "COOK-01" in row["Findings"]
    storage = dict(zip(*list(book["Storage inspection"].iter_rows(values_only=True))[:2]))
    assert storage["Late (min)"] >= 180 and storage["Version"] == 2
    amendments = list(book["Amendments"].iter_rows(values_only=True))
    assert amendments[1][5] == "misread the display" and amendments[1][4] == "Manager"
    actions = list(book["Corrective actions"].iter_rows(values_only=True))
    action = dict(zip(actions[0], actions[1]))
    assert action["Owner"] == "Manager" and action["Due"] and action["Status"] == "open"
    missing = list(book["Incomplete"].iter_rows(values_only=True))
    assert missing[0] == ("Date", "Log", "Missing") and any(m[1] == "Morning health check" for m in missing[1:])
    sheet = book["Cooking and holding"]
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.column_dimensions["J"].width == 40 and sheet.sheet_properties.pageSetUpPr.fitToPage
    summary = [c for row in book["Summary"].iter_rows(values_only=True) for c in row if c]
    assert "Prepared by" in summary and "Checked by" in summary
    zh = load_workbook(io.BytesIO(signed_in(app, "union", lang="zh_CN").get("/safety/export?format=xlsx").data))
    assert "烹饪与保温" in zh.sheetnames and zh["烹饪与保温"]["A1"].value == "编号"
    assert "制表人" in [c for row in zh["概要"].iter_rows(values_only=True) for c in row if c]


@pytest.mark.parametrize("query", ["?from=someday", "?from=2026-12-01&to=2026-11-01", "?from=2020-01-01&to=2026-01-01",
                                   "?to=0001-01-01", "?to=0001-01-03&format=xlsx"])
def test_export_refuses_bad_ranges(app, staff, query):
    assert signed_in(app, "union").get(f"/safety/export{query}").status_code == 400


def test_a_correct_rejection_passes_and_opens_no_action(app, staff, kitchen):  # noqa: F811
    from canteen.safety.models import CorrectiveAction

    rejected = dict(valid_entries(kitchen)["procurement"], accepted=False, reject_reason="臭",
                    sensory_ok=False, quarantine_checked=False, arrival_temp=14)
    body = api(app).post("/api/v1/safety/procurement", json=rejected).get_json()
    assert body["verdict"] == "pass", body["findings"]
    assert in_db(app, lambda: CorrectiveAction.select().count()) == 0


def test_export_cells_that_look_like_formulas_stay_text(app, staff, kitchen):  # noqa: F811
    from canteen.safety.models import CorrectiveAction

    api(app).post("/api/v1/safety/cooking", json=dict(valid_entries(kitchen)["cooking"], core_temp=60))
    in_db(app, lambda: CorrectiveAction.update(cause='=HYPERLINK("http://evil.example","x")',
                                               action_taken="=1+1").execute())
    book = load_workbook(io.BytesIO(signed_in(app, "union").get("/safety/export?format=xlsx").data))
    cells = [c for row in book["Corrective actions"].iter_rows(min_row=2) for c in row]
    risky = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    assert risky and all(c.data_type == "s" for c in risky)


def test_export_expects_nothing_of_days_to_come_or_of_people_not_yet_hired(app, staff, kitchen):  # noqa: F811
    import datetime as dt

    from canteen.clock import clock
    from canteen.safety.models import Staff

    today = in_db(app, lambda: clock().today())
    in_db(app, lambda: Staff.update(created_at=Staff.created_at).execute())
    future = (today + dt.timedelta(days=2)).isoformat()
    html = signed_in(app, "union").get(f"/safety/export?from={today}&to={future}").get_data(as_text=True)
    assert f"<strong>{today + dt.timedelta(days=1)}</strong>" not in html
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    html = signed_in(app, "union").get(f"/safety/export?from={yesterday}&to={yesterday}").get_data(as_text=True)
    assert "Morning health check of 王师傅" not in html  # registered today
    assert signed_in(app, "union").get("/safety/export?to=9999-12-31").status_code == 400


def test_a_round_shows_its_remarks(app, staff):
    client = signed_in(app, "manager")
    round_form(client, "cold_room", ("excellent", "good", "poor", "excellent"), remark_C3="labels missing")
    row = in_db(app, lambda: InspectionRound.get())
    page = signed_in(app, "union").get(f"/safety/rounds/{row.id}").get_data(as_text=True)
    assert "labels missing" in page and "Poor" in page


def test_a_poor_grade_opens_one_corrective_action_for_the_round(app, staff):
    from canteen.safety.models import CorrectiveAction

    client = signed_in(app, "manager")
    r = round_form(client, "cold_room", ("poor", "good", "poor", "excellent"),
                   remark_C1="no reading since Monday", remark_C3="labels missing")
    assert r.status_code == 302
    row = in_db(app, lambda: InspectionRound.get())
    action = in_db(app, lambda: CorrectiveAction.get())
    assert (action.round_id, action.record_id, action.severity, action.status) == (row.id, None, "major", "open")
    assert [f["item"] for f in action.findings()] == ["C1", "C3"]
    page = client.get(f"/safety/actions/{action.id}").get_data(as_text=True)
    assert "labels missing" in page and f"/safety/rounds/{row.id}" in page
    round_form(client, "dry_store", ("excellent",) * 4)
    assert in_db(app, lambda: CorrectiveAction.select().count()) == 1  # no 差, no action
    code = app.test_cli_runner().invoke(args=["verify-audit"])
    assert code.exit_code == 0, code.output


def test_open_critical_findings_pull_down_their_d_on_the_dashboard(app, staff, kitchen):  # noqa: F811
    from canteen.checklists.rounds import rate_with_open_findings

    assert rate_with_open_findings(ROUNDS, [6, 6, 6], 0) == 100.0
    assert rate_with_open_findings(ROUNDS, [6, 6, 6], 1) == round(100 * 19 / 24, 1)
    assert rate_with_open_findings(ROUNDS, [], 0) is None
    client = signed_in(app, "manager")
    round_form(client, "cold_room", ("excellent",) * 4)  # every D at 100 % by rounds alone
    api(app).post("/api/v1/safety/storage", json=dict(valid_entries(kitchen)["storage"], temperature=10))
    board = signed_in(app, "union").get("/safety/dashboard").get_data(as_text=True)
    execution = re.search(r"4D execution</th><td>([\d.]+)</td><td>.*?(\d+)", board, re.S)
    assert execution and float(execution.group(1)) == round(100 * 7 / 12, 1) and execution.group(2) == "1"
