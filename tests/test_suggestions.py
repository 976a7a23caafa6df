"""The workers' representatives' suggestions: recorded by the union, answered by the manager,
linked to the trial or change they produced, shown back to the miners on the kiosk, counted
in the weekly report and on the union's tile, and chased by the scheduler when unanswered."""
import csv
import datetime as dt
import io
import json
import re
import time

from openpyxl import load_workbook

from canteen import audit
from canteen.clock import clock
from canteen.feedback.models import DishChange
from canteen.jobs.models import Alert
from canteen.models import Dish
from canteen.reports.models import Suggestion, SuggestionBacker, SuggestionStep
from canteen.reports.scoring import bayesian_average

from .conftest import csrf_token, signed_in
from .test_union_reports import make_votes, text
from .test_votes import in_db

REGISTER = "/reports/suggestions"
LATER = str(dt.date.today() + dt.timedelta(days=60))  # a due date always ahead of the canteen's today


def record(client, **fields):
    data = {"csrf_token": csrf_token(client, REGISTER), "kind": "new_dish", "dish": "0",
            "text": "想吃大盘鸡", "team": "综采一队", "backers": "", "person": "", "venue": "committee",
            "raised_on": "2026-10-01"}
    data.update(fields)
    return client.post(REGISTER, data=data)


def answer(client, sid, **fields):
    page = f"{REGISTER}/{sid}"
    data = {"csrf_token": csrf_token(client, page), "plan": "", "due": "", "reason": ""}
    data.update(fields)
    return client.post(f"{page}/answer", data=data)


def link(client, sid, trial_dish="0", change="0"):
    page = f"{REGISTER}/{sid}"
    return client.post(f"{page}/link", data={"csrf_token": csrf_token(client, page),
                                             "trial_dish": trial_dish, "change": change})


def only_suggestion(app):
    return in_db(app, lambda: Suggestion.get())


def test_a_suggestion_goes_to_a_trial_and_comes_back_to_the_kiosk(app, staff):
    union, manager = signed_in(app, "union"), signed_in(app, "manager")
    # errors are named beside their fields, and nothing is half-stored
    r = record(union, text="", team="", kind="taste", raised_on="2999-01-01")
    page = text(r)
    assert r.status_code == 422
    for message in ("Write the suggestion.", "Name the team, shift or place that asked.",
                    "Choose the dish this is about.", "Give a date between 2000 and 2100."):
        assert f'role="alert">{message}' in page, message
    assert in_db(app, lambda: Suggestion.select().count()) == 0
    assert record(union, kind="sideways").status_code == 422

    r = record(union, backers="掘进二队，机电队, 综采一队", person="老王", raised_on=str(in_db(app, lambda: clock().today())))
    assert r.status_code == 302
    s = only_suggestion(app)
    assert r.headers["Location"].endswith(f"{REGISTER}/{s.id}")
    assert in_db(app, lambda: s.teams()) == ["综采一队", "掘进二队", "机电队"]  # each team once
    # one more team backs it; the same team twice is refused
    page = f"{REGISTER}/{s.id}"
    r = union.post(f"{page}/backers", data={"csrf_token": csrf_token(union, page), "team": "通风队"})
    assert r.status_code == 302
    r = union.post(f"{page}/backers", data={"csrf_token": csrf_token(union, page), "team": "通风队"})
    assert r.status_code == 409 and "This team is already counted." in text(r)
    assert "4 teams: 综采一队, 掘进二队, 机电队, 通风队" in text(union.get(page))
    # the union cannot answer, the manager cannot record or back
    assert answer(union, s.id, answer="accepted", plan="x", due=LATER).status_code == 403
    assert record(manager).status_code == 403

    # accepting needs what and by when
    r = answer(manager, s.id, answer="accepted")
    assert r.status_code == 422
    assert 'role="alert">Say what will be done.' in text(r) and "Give the day by which it will be done." in text(r)
    # nothing produced yet cannot be linked before an answer
    today = in_db(app, lambda: clock().today())
    r = answer(manager, s.id, answer="accepted", plan="试做大盘鸡四周", due=str(today + dt.timedelta(days=30)))
    assert r.status_code == 302

    # the kitchen puts the dish on trial; miners vote on it
    def build():
        dish = Dish.create(name_zh="大盘鸡", name_en="Big plate chicken", price_fen=1400,
                           trial_start=today - dt.timedelta(days=40))
        other = Dish.create(name_zh="米饭", name_en="Steamed rice", price_fen=50)
        return dish, other
    dish, other = in_db(app, build)
    scores = [5] * 20 + [4] * 7 + [2] * 3
    make_votes(app, dish.id, scores, day=today - dt.timedelta(days=30))
    make_votes(app, other.id, [3] * 30, day=today - dt.timedelta(days=30))
    r = link(manager, s.id, trial_dish="0", change="0")
    assert r.status_code == 422 and "Choose either a dish on trial or a change, one of them." in text(r)
    assert link(manager, s.id, trial_dish="abc").status_code == 422
    assert link(manager, s.id, trial_dish=str(dish.id)).status_code == 302

    # the suggestion shows the trial's votes, fair score and verdict as the trials page has them
    prior = (sum(scores) + 90) / 60
    fair = bayesian_average(sum(scores), 30, prior, 10)
    shown = text(union.get(page))
    trials_page = text(union.get("/reports/trials"))
    assert f"{fair:.2f}" in shown and f"{fair:.2f}" in trials_page
    assert re.search(r"Counted votes</th><td>30<", shown)
    assert re.search(r"Suggested verdict:</th><td>Keep<", shown)
    assert "Too early to tell" in shown  # no decision yet

    # the manager keeps the dish and marks the suggestion done
    r = manager.post(f"/reports/trials/{dish.id}/decision",
                     data={"csrf_token": csrf_token(manager, "/reports/trials"), "decision": "keep", "announce": "y"})
    assert r.status_code == 302
    assert answer(manager, s.id, answer="done", plan="大盘鸡留在菜单上").status_code == 302
    shown = text(union.get(page))
    assert "What it produced: Kept on the menu" in shown
    assert "Decision:</th><td><strong>Keep</strong>" in shown
    assert answer(manager, s.id, answer="declined", reason="x").status_code == 409  # done is done

    # the kiosk's "you asked, we changed" names the teams, never the person
    menu = app.test_client().get("/api/v1/menu/current?lang=en").get_json()
    first = menu["announcements"][0]
    assert first == {"dish_id": dish.id, "dish": "Big plate chicken", "kind": "suggestion",
                     "text": "综采一队, 掘进二队, 机电队, 通风队 asked: Kept on the menu", "note": "大盘鸡留在菜单上",
                     "since": first["since"], "teams": ["综采一队", "掘进二队", "机电队", "通风队"]}
    assert [a["dish_id"] for a in menu["announcements"]].count(dish.id) == 1  # not again as a trial decision
    zh = app.test_client().get("/api/v1/menu/current?lang=zh_CN").get_data(as_text=True)
    assert "老王" not in zh and "老王" not in json.dumps(menu, ensure_ascii=False)
    assert "综采一队、掘进二队、机电队、通风队" in json.loads(zh)["announcements"][0]["text"]

    # every step is dated and bound by the audit chain
    steps = in_db(app, lambda: [st.step for st in SuggestionStep.select().order_by(SuggestionStep.id)])
    assert steps == ["recorded", "backed", "accepted", "linked", "done"]
    actions = in_db(app, lambda: [e.action for e in audit.AuditEntry.select()])
    assert {"suggestion.record", "suggestion.back", "suggestion.accepted", "suggestion.link",
            "suggestion.done"} <= set(actions)
    assert in_db(app, lambda: audit.verify().ok)


def test_editing_a_suggestion_behind_the_register_is_caught_by_the_audit_chain(app, staff):
    union = signed_in(app, "union")
    assert record(union).status_code == 302
    assert in_db(app, lambda: audit.verify().ok)
    in_db(app, lambda: Suggestion.update(team="另一个队").execute())
    problems = in_db(app, lambda: audit.verify())
    assert not problems.ok and "suggestion" in json.dumps(problems.as_dict(), default=str)
    assert {"suggestion", "suggestion_backer", "suggestion_step"} <= set(audit.COVERED)


def portion_change_that_scored_better(app, union, pork):
    """Pork scored ~2.75 before a portion change 20 days ago and ~4.75 after; the union asks
    for a bigger portion. Answers (today, the suggestion, the change)."""
    today = in_db(app, lambda: clock().today())
    make_votes(app, pork.id, [3, 2, 3, 3, 2, 3, 3, 2, 3, 3, 3, 2], day=today - dt.timedelta(days=25))
    make_votes(app, pork.id, [5, 4, 5, 5, 4, 5, 5, 5, 4, 5, 5, 5], day=today - dt.timedelta(days=10))
    assert record(union, kind="portion", dish=str(pork.id), text="红烧肉份量太少").status_code == 302
    change = in_db(app, lambda: DishChange.create(dish=pork, day=today - dt.timedelta(days=20), kind="portion",
                                                   author="user:manager"))
    return today, only_suggestion(app), change


def test_a_change_that_scored_better_closes_the_loop_too(app, staff, dishes):
    union, manager = signed_in(app, "union"), signed_in(app, "manager")
    pork = dishes["pork"]
    today, s, change = portion_change_that_scored_better(app, union, pork)
    r = link(manager, s.id, change=str(change.id))
    assert r.status_code == 409 and "Accept the suggestion first." in text(r)
    r = answer(manager, s.id, answer="declined")
    assert r.status_code == 422 and "Give the reason the representatives will read." in text(r)
    assert answer(manager, s.id, answer="accepted", plan="加量", due=str(today)).status_code == 302
    assert link(manager, s.id, change=str(change.id)).status_code == 302
    assert answer(manager, s.id, answer="done").status_code == 302
    page = text(union.get(f"{REGISTER}/{s.id}"))
    assert "What it produced: Scored better after the change" in page
    dish_page = text(union.get(f"/reports/dishes/{pork.id}"))
    before_after = re.findall(r"\b[1-5]\.\d\d\b", page)
    assert before_after and all(v in dish_page for v in before_after)  # the dish page's numbers
    menu = app.test_client().get("/api/v1/menu/current?lang=en").get_json()
    assert menu["announcements"][0]["kind"] == "suggestion" and menu["announcements"][0]["teams"] == ["综采一队"]


def test_an_unanswered_suggestion_alerts_the_manager_once(app, staff):
    from canteen.jobs import scheduler

    union = signed_in(app, "union")
    assert record(union, text="夜班饭太凉").status_code == 302
    assert record(union, text="早班多一个汤").status_code == 302
    old, fresh = in_db(app, lambda: list(Suggestion.select().order_by(Suggestion.id)))
    in_db(app, lambda: Suggestion.update(created_at=old.created_at - dt.timedelta(days=15))
          .where(Suggestion.id == old.id).execute())
    now = in_db(app, lambda: clock().now())
    for hours in (0, 1, 2):  # three hourly runs, and one of them twice
        scheduler.run_job(app, "suggestion_overdue", now + dt.timedelta(hours=hours))
    scheduler.run_job(app, "suggestion_overdue", now + dt.timedelta(hours=2))
    alerts = in_db(app, lambda: list(Alert.select().where(Alert.kind == "suggestion_overdue")))
    assert [(a.key, a.role) for a in alerts] == [(f"suggestion:{old.id}", "manager")]
    assert "unanswered for 14 days" in alerts[0].message_en
    # the union's tile and the register count it
    home = text(union.get("/office/"))
    assert re.search(r'data-tile="suggestions">\s*<span class="tile-title">Representatives&#39; suggestions open</span>\s*'
                     r'<strong class="tile-value">2</strong>\s*'
                     r'<span class="tile-note">1 waiting for an answer over 14 days</span>', home)
    assert "1 waiting for an answer over 14 days" in text(union.get(REGISTER))
    # once answered it is no longer overdue, and nothing is raised again
    manager = signed_in(app, "manager")
    assert answer(manager, old.id, answer="declined", reason="饭菜保温柜已在修").status_code == 302
    assert "0 waiting for an answer" in text(union.get(REGISTER))
    assert in_db(app, lambda: Alert.select().where(Alert.kind == "suggestion_overdue").count()) == 1


def test_the_answer_days_are_configurable(app, staff):
    from canteen.reports import suggestions

    app.config["SUGGESTION_ANSWER_DAYS"] = 3
    union = signed_in(app, "union")
    assert record(union).status_code == 302
    s = only_suggestion(app)
    in_db(app, lambda: Suggestion.update(created_at=s.created_at - dt.timedelta(days=4)).execute())
    assert in_db(app, lambda: suggestions.counts()) == {"open": 1, "overdue": 1, "days": 3}


def test_the_register_exports_with_outcomes_and_safe_cells(app, staff):
    union = signed_in(app, "union")
    assert record(union, text="=HYPERLINK(\"http://evil\")", team="+综采一队", backers="@机电队").status_code == 302
    r = union.get(f"{REGISTER}?format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    header, row = rows[0], rows[1]
    assert header[:3] == ["id", "recorded", "raised_on"] and "outcome" in header
    assert row[header.index("suggestion")] == "'=HYPERLINK(\"http://evil\")"
    assert row[header.index("team")] == "'+综采一队" and row[header.index("outcome")] == "none"
    assert row[header.index("backers")] == "1"
    book = load_workbook(io.BytesIO(union.get(f"{REGISTER}?format=xlsx").data))
    sheet = book["suggestions"]
    cell = sheet.cell(row=2, column=header.index("suggestion") + 1)
    assert cell.value == "=HYPERLINK(\"http://evil\")" and cell.data_type == "s"


def test_the_weekly_report_has_a_section_on_suggestions(app, staff):
    union, manager = signed_in(app, "union"), signed_in(app, "manager")
    for t in ("想吃大盘鸡", "夜班饭太凉"):
        assert record(union, text=t).status_code == 302
    first, second = in_db(app, lambda: list(Suggestion.select().order_by(Suggestion.id)))
    assert answer(manager, first.id, answer="accepted", plan="试做", due=LATER).status_code == 302
    week = "%d-W%02d" % in_db(app, lambda: clock().today()).isocalendar()[:2]
    page = text(union.get(f"/reports/weekly?week={week}"))
    assert "<h2>Workers' representatives' suggestions</h2>" in page
    assert "New: 2 · answered: 1 · overdue (no answer after 14 days): 0 · done: 0 · still open: 2" in page
    assert "想吃大盘鸡" in page and "试做" in page
    book = load_workbook(io.BytesIO(union.get(f"/reports/weekly?week={week}&format=xlsx").data))
    assert book.sheetnames[-1] == "suggestions"
    rows = list(book["suggestions"].iter_rows(values_only=True))
    assert rows[0][:5] == ("group", "id", "raised_on", "kind", "suggestion")
    assert [(r[0], r[1]) for r in rows[1:]] == [("new", first.id), ("new", second.id), ("answered", first.id)]
    from canteen.reports.weekly import email_text, weekly_report
    mail = in_db(app, lambda: email_text(weekly_report(dt.date.fromisocalendar(*map(int, week.split("-W")), 1))))
    assert "职工代表建议 representatives' suggestions: 新 new 2, 已答复 answered 1, 超期 overdue 0, 已完成 done 0" in mail
    # a past week's report has an empty section
    data = in_db(app, lambda: json.loads(json.dumps(weekly_report(dt.date(2026, 10, 5)), default=str)))
    assert data["suggestions"]["new"] == []


def test_bad_input_never_fails_the_server(app, staff):
    union, manager = signed_in(app, "union"), signed_in(app, "manager")
    assert union.get(f"{REGISTER}/999999").status_code == 404
    assert union.get(f"{REGISTER}/99999999999999999999").status_code == 404
    assert record(union, dish="x").status_code == 422
    assert record(union, raised_on="yesterday").status_code == 422
    assert record(union, text="a" * 1001).status_code == 422
    assert record(union, text="ok\x00\x07").status_code == 302
    s = only_suggestion(app)
    assert s.text == "ok"
    assert answer(manager, s.id, answer="maybe").status_code == 422
    assert answer(manager, s.id, answer="accepted", plan="x", due="31-12-2026").status_code == 422
    past = answer(manager, s.id, answer="accepted", plan="x", due="2000-01-01")  # late the moment it is made
    assert past.status_code == 422 and "cannot be in the past" in text(past)
    assert answer(manager, s.id, answer="declined", reason="no room in the kitchen").status_code == 302
    assert answer(manager, s.id, answer="accepted", plan="after all", due=LATER).status_code == 302
    again = in_db(app, lambda: Suggestion.get_by_id(s.id))
    assert (again.status, again.reason, again.plan) == ("accepted", "", "after all")
    assert in_db(app, lambda: [st.note for st in again.steps.order_by(SuggestionStep.id)]) == [
        "", "no room in the kitchen", "after all"]
    r = union.post(f"{REGISTER}/{s.id}/backers", data={"csrf_token": csrf_token(union, REGISTER), "team": ""})
    assert r.status_code == 422 and 'role="alert">Name the team.' in text(r)
    assert in_db(app, lambda: SuggestionBacker.select().count()) == 0


def test_the_same_form_sent_twice_records_one_suggestion(app, staff):
    union = signed_in(app, "union")
    once = re.search(r'name="once" type="hidden" value="([0-9a-f]{32})"', text(union.get(REGISTER))).group(1)
    first, again = record(union, once=once), record(union, once=once)
    assert (first.status_code, again.status_code) == (302, 302)
    assert again.headers["Location"] == first.headers["Location"]
    assert in_db(app, lambda: (Suggestion.select().count(), SuggestionStep.select().count())) == (1, 1)
    assert record(union, once="not-a-token").status_code == 422  # a token is the page's or nothing
    # the page brought back (Back button) and filled in anew keeps its token: another suggestion
    assert record(union, once=once, text="少放辣").status_code == 302
    assert in_db(app, lambda: Suggestion.select().count()) == 2
    other = re.search(r'name="once" type="hidden" value="([0-9a-f]{32})"', text(union.get(REGISTER))).group(1)
    assert other != once and record(union, once=other).status_code == 302  # a new page is a new suggestion
    assert in_db(app, lambda: Suggestion.select().count()) == 3


def test_the_same_answer_sent_twice_is_one_step(app, staff):
    union, manager = signed_in(app, "union"), signed_in(app, "manager")
    assert record(union).status_code == 302
    s = only_suggestion(app)
    for _twice in range(2):
        assert answer(manager, s.id, answer="accepted", plan="周三加大盘鸡", due=LATER).status_code == 302
    assert answer(manager, s.id, answer="accepted", plan="周四加大盘鸡", due=LATER).status_code == 302
    assert [answer(manager, s.id, answer="done", plan="").status_code for _twice in range(2)] == [302, 409]
    steps = in_db(app, lambda: [(st.step, st.note) for st in s.steps.order_by(SuggestionStep.id)])
    assert steps == [("recorded", ""), ("accepted", "周三加大盘鸡"), ("accepted", "周四加大盘鸡"), ("done", "")]


def test_admin_reads_and_phone_pages_never_name_who_asked(app, staff):
    admin = signed_in(app, "admin")
    union = signed_in(app, "union")
    assert record(union, person="张师傅").status_code == 302
    s = only_suggestion(app)
    assert admin.get(REGISTER).status_code == 200 and "张师傅" in text(admin.get(f"{REGISTER}/{s.id}"))
    assert "Record a suggestion" not in text(admin.get(REGISTER))
    assert "张师傅" not in text(app.test_client().get("/api/v1/menu/current"))


def offered(page):
    """The answers the suggestion page offers the manager."""
    form = re.search(r'<select[^>]*name="answer".*?</select>', page, re.S)
    return re.findall(r'<option[^>]*value="(\w+)"', form.group(0)) if form else []


def test_only_the_allowed_answers_follow_each_status(app, staff):
    union, manager = signed_in(app, "union"), signed_in(app, "manager")
    for t in ("想吃大盘鸡", "夜班饭太凉", "少放盐"):
        assert record(union, text=t).status_code == 302
    first, second, third = in_db(app, lambda: list(Suggestion.select().order_by(Suggestion.id)))

    def state(sid):
        s = in_db(app, lambda: Suggestion.get_by_id(sid))
        return s.status, in_db(app, lambda: [st.step for st in s.steps.order_by(SuggestionStep.id)])

    assert offered(text(manager.get(f"{REGISTER}/{first.id}"))) == ["accepted", "declined", "done"]
    # declined: only taken up again by accepting it, never marked done behind the committee's back
    assert answer(manager, first.id, answer="declined", reason="厨房没有地方").status_code == 302
    assert offered(text(manager.get(f"{REGISTER}/{first.id}"))) == ["accepted"]
    for refused in ({"answer": "done", "plan": "做了"}, {"answer": "declined", "reason": "换个理由"}):
        r = answer(manager, first.id, **refused)
        assert r.status_code == 409, refused
        assert ('role="alert">This suggestion was declined: it can only be accepted again, with what will be '
                'done and by when.') in text(r)
        assert offered(text(r)) == ["accepted"]
    assert state(first.id) == ("declined", ["recorded", "declined"])
    assert answer(manager, first.id, answer="declined", reason="厨房没有地方").status_code == 302  # a double tap
    assert answer(manager, first.id, answer="accepted", plan="试做", due=LATER).status_code == 302
    assert answer(manager, first.id, answer="done", plan="大盘鸡上了菜单").status_code == 302
    assert state(first.id) == ("done", ["recorded", "declined", "accepted", "done"])
    page = text(manager.get(f"{REGISTER}/{first.id}"))
    assert offered(page) == [] and "Record the answer" not in page  # done is final
    r = answer(manager, first.id, answer="accepted", plan="再来", due=LATER)
    assert r.status_code == 409 and 'role="alert">This suggestion is done already.' in text(r)

    # accepted, then the plan falls through: declined with a reason the representatives read
    assert answer(manager, second.id, answer="accepted", plan="加保温箱", due=LATER).status_code == 302
    assert offered(text(manager.get(f"{REGISTER}/{second.id}"))) == ["accepted", "declined", "done"]
    assert answer(manager, second.id, answer="declined", reason="保温箱没批下来").status_code == 302
    assert state(second.id) == ("declined", ["recorded", "accepted", "declined"])

    # done straight away (a small thing the kitchen just did): it says what was done
    r = answer(manager, third.id, answer="done", plan="")
    assert r.status_code == 422 and 'role="alert">Say what was done.' in text(r)
    assert state(third.id) == ("open", ["recorded"])
    assert answer(manager, third.id, answer="done", plan="红烧肉少放盐了").status_code == 302
    assert state(third.id) == ("done", ["recorded", "done"])


def test_the_answer_rules_hold_without_the_form(app, staff):
    """Every way in goes through give_answer: the rules hold for a caller that skips the page."""
    from canteen.reports.suggestions import Refused, give_answer

    union = signed_in(app, "union")
    assert record(union).status_code == 302
    s = only_suggestion(app)
    with app.test_request_context():
        in_db(app, lambda: give_answer(s.id, "declined", "user:manager", reason="不行"))
        try:
            in_db(app, lambda: give_answer(s.id, "done", "user:manager", plan="做了"))
        except Refused as e:
            assert (e.field, e.status) == ("answer", 409)
        else:
            raise AssertionError("a declined suggestion was marked done")
    assert in_db(app, lambda: Suggestion.get_by_id(s.id).status) == "declined"


def test_the_kiosk_keeps_its_you_asked_list_until_something_is_written_or_it_is_a_minute_old(app, staff, dishes):
    """Every kiosk polls the menu: the outcomes are computed once per process, then again as
    soon as an answer, decision or change is written (in any process), or after the TTL."""
    union, manager = signed_in(app, "union"), signed_in(app, "manager")
    pork = dishes["pork"]
    today, s, change = portion_change_that_scored_better(app, union, pork)
    assert answer(manager, s.id, answer="accepted", plan="加量", due=str(today)).status_code == 302
    assert link(manager, s.id, change=str(change.id)).status_code == 302
    kiosk = app.test_client()

    def asked():
        return [a["teams"] for a in kiosk.get("/api/v1/menu/current?lang=en").get_json()["announcements"]
                if a["kind"] == "suggestion"]

    assert asked() == []  # accepted, not done yet
    assert answer(manager, s.id, answer="done").status_code == 302
    assert asked() == [["综采一队"]]  # the answer is seen at once
    make_votes(app, pork.id, [1] * 40, day=today - dt.timedelta(days=5))  # the miners change their minds
    assert asked() == [["综采一队"]]  # votes alone: the kept copy, for up to a minute
    assert record(union, text="夜班饭太凉").status_code == 302  # any step written: computed again
    assert asked() == []
    make_votes(app, pork.id, [5] * 200, day=today - dt.timedelta(days=4))
    assert asked() == []  # the kept copy again
    app.config["ANNOUNCE_CACHE_SECONDS"] = 0.5
    time.sleep(0.6)  # the copy is too old now
    assert asked() == [["综采一队"]]
    app.config["ANNOUNCE_CACHE_SECONDS"] = 0  # off: computed on every request
    make_votes(app, pork.id, [1] * 400, day=today - dt.timedelta(days=3))
    assert asked() == []


def test_two_suggestions_that_produced_the_same_dish_show_it_once_on_the_kiosk(app, staff, dishes):
    """The kiosk shows three items: two suggestions closed by the same change name the dish
    once (the newest), as a dish named by a suggestion is not shown again as a decision."""
    union, manager = signed_in(app, "union"), signed_in(app, "manager")
    pork = dishes["pork"]
    today, first, change = portion_change_that_scored_better(app, union, pork)
    assert record(union, kind="taste", dish=str(pork.id), text="红烧肉太咸", team="掘进二队").status_code == 302
    second = in_db(app, lambda: Suggestion.select().order_by(Suggestion.id.desc()).get())
    for s in (first, second):
        assert answer(manager, s.id, answer="accepted", plan="加量", due=str(today)).status_code == 302
        assert link(manager, s.id, change=str(change.id)).status_code == 302
        assert answer(manager, s.id, answer="done").status_code == 302
    menu = app.test_client().get("/api/v1/menu/current?lang=en").get_json()
    shown = [(a["dish_id"], a.get("teams")) for a in menu["announcements"]]
    assert shown.count((pork.id, ["掘进二队"])) == 1 and [d for d, _t in shown].count(pork.id) == 1
