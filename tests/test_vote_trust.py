"""Votes that can be trusted: reasons added and votes withdrawn from the device that cast
them, and the stuffing scripts of issue 13 ending with nothing counted (SQLite and PostgreSQL)."""
import datetime as dt
import random
import secrets

from canteen.feedback import qr
from canteen.feedback.models import QrCard, Rating, RatingTag
from canteen.feedback.rollups import VoteRollup
from canteen.models import database

from .conftest import kiosk_client
from .test_votes import at_lunch


def in_db(app, fn):
    with app.app_context(), database.connection_context():
        return fn()


def vote(client, dish, score, key, **extra):
    """A kiosk vote cast at the last lunch (votes outside a meal are flagged)."""
    body = {"dish_id": dish.id, "score": score, "client_id": key, "channel": "kiosk",
            "voted_at": at_lunch(client.application), **extra}
    return client.post("/api/v1/ratings", json=body)


def soon(app, seconds=30):
    """When the miner changed his vote: just after the lunch vote."""
    return at_lunch(app, seconds)


def counted(app):
    return in_db(app, lambda: sorted((r.dish_id, r.score) for r in Rating.counted()))


def rolled_up(app):
    """What the reports read: counted votes per dish in the rollups the database keeps."""
    return in_db(app, lambda: sorted((r.dish_id, r.n) for r in VoteRollup.select() if r.n))


# --- reasons after the vote, and Change -------------------------------------------

def test_reasons_are_added_to_the_stored_vote_by_its_kiosk(app, dishes):
    exit_kiosk = kiosk_client(app)
    assert vote(exit_kiosk, dishes["pork"], 2, "chg-tags-0001").status_code == 201
    r = exit_kiosk.patch("/api/v1/ratings/chg-tags-0001", json={"tags": ["too_salty", "cold"], "changed_at": soon(app)})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"id": r.get_json()["id"], "client_id": "chg-tags-0001", "tags": ["cold", "too_salty"],
                            "withdrawn": False, "flag": None}
    # the same change again (an offline kiosk's retry) and a smaller one: the list is what counts
    assert exit_kiosk.patch("/api/v1/ratings/chg-tags-0001", json={"tags": ["too_salty", "cold"], "changed_at": soon(app)}).status_code == 200
    assert exit_kiosk.patch("/api/v1/ratings/chg-tags-0001", json={"tags": ["cold"], "changed_at": soon(app)}).get_json()["tags"] == ["cold"]
    assert in_db(app, lambda: [t.tag for t in RatingTag.select()]) == ["cold"]
    assert counted(app) == [(dishes["pork"].id, 2)]


def test_change_withdraws_the_vote_which_is_kept_but_never_counted(app, dishes):
    exit_kiosk = kiosk_client(app)
    assert vote(exit_kiosk, dishes["pork"], 1, "chg-undo-0001").status_code == 201
    r = exit_kiosk.delete("/api/v1/ratings/chg-undo-0001", json={"changed_at": soon(app)})
    assert r.status_code == 200 and r.get_json()["withdrawn"] is True
    assert exit_kiosk.patch("/api/v1/ratings/chg-undo-0001", json={"withdrawn": True, "changed_at": soon(app)}).status_code == 200  # retry
    assert vote(exit_kiosk, dishes["pork"], 4, "chg-undo-0002",
                voted_at=soon(app, 40)).status_code == 201  # the face he meant
    assert counted(app) == [(dishes["pork"].id, 4)] and rolled_up(app) == [(dishes["pork"].id, 1)]
    kept = in_db(app, lambda: Rating.get(Rating.client_id == "chg-undo-0001"))
    assert kept.flag == "withdrawn" and kept.withdrawn_at is not None
    r = exit_kiosk.patch("/api/v1/ratings/chg-undo-0001", json={"tags": ["cold"], "changed_at": soon(app)})
    assert (r.status_code, r.get_json()["field"]) == (409, "client_id")


def test_withdrawing_a_card_vote_brings_back_the_same_persons_earlier_one(app, dishes):
    reader = kiosk_client(app, card_reader=True)
    first = vote(reader, dishes["rice"], 5, "card-first-01", employee_no="30003")
    second = vote(reader, dishes["rice"], 1, "card-second1", employee_no="30003", voted_at=soon(app, 60))
    assert first.status_code == second.status_code == 201
    assert counted(app) == [(dishes["rice"].id, 1)]
    r = reader.patch("/api/v1/ratings/card-second1", json={"withdrawn": True, "changed_at": soon(app, 90)})
    assert r.status_code == 200, r.get_json()
    assert counted(app) == [(dishes["rice"].id, 5)]


def test_only_the_device_that_cast_a_vote_may_change_it_and_only_for_a_few_minutes(app, dishes):
    exit_kiosk, lamp = kiosk_client(app), kiosk_client(app, "lamp-room")
    assert vote(exit_kiosk, dishes["noodles"], 3, "chg-own-0001").status_code == 201
    r = lamp.patch("/api/v1/ratings/chg-own-0001", json={"tags": ["cold"], "changed_at": soon(app)})
    assert (r.status_code, r.get_json()["field"]) == (403, "client_id")
    r = app.test_client().delete("/api/v1/ratings/chg-own-0001")
    assert (r.status_code, r.get_json()["field"]) == (403, "kiosk")
    assert exit_kiosk.patch("/api/v1/ratings/no-such-vote", json={"tags": []}).status_code == 404
    late = soon(app, 6 * 60)  # six minutes after the vote
    r = exit_kiosk.patch("/api/v1/ratings/chg-own-0001", json={"tags": ["cold"], "changed_at": late})
    assert (r.status_code, r.get_json()["field"]) == (409, "changed_at")
    assert in_db(app, lambda: RatingTag.select().count()) == 0


def test_bad_changes_are_refused_with_their_field(app, dishes):
    exit_kiosk = kiosk_client(app)
    assert vote(exit_kiosk, dishes["noodles"], 3, "chg-bad-0001").status_code == 201
    for body, field in (({"tags": ["no_such_tag"]}, "tags"), ({"tags": "cold"}, "tags"), ({}, "tags"),
                        ({"withdrawn": "yes"}, "withdrawn"), ({"tags": ["cold"], "withdrawn": True}, "tags"),
                        ({"score": 5}, "score"), ({"tags": [], "changed_at": "yesterday"}, "changed_at")):
        r = exit_kiosk.patch("/api/v1/ratings/chg-bad-0001", json=body)
        assert (r.status_code, r.get_json()["field"]) == (422, field), (body, r.get_json())
    r = exit_kiosk.patch("/api/v1/ratings/chg-bad-0001", data="[", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["field"] == "body"
    assert in_db(app, lambda: Rating.get(Rating.client_id == "chg-bad-0001").flag) is None


# --- stuffing (issue 13): each script ends with nothing counted ----------------------

def test_rotating_kiosk_names_from_an_unpaired_client_count_nothing(app, dishes):
    script = app.test_client()
    codes = set()
    for i in range(150):
        r = script.post("/api/v1/ratings", json={"dish_id": dishes["pork"].id, "score": 1, "channel": "kiosk",
                                                  "client_id": f"stuff-hdr-{i:04d}", "voted_at": at_lunch(app)},
                        headers={"X-Canteen-Kiosk": f"kiosk-{i}"})
        codes.add(r.status_code)
        assert r.get_json()["field"] == "kiosk"
    assert codes == {403}
    assert counted(app) == [] and in_db(app, lambda: Rating.select().count()) == 0


def test_random_staff_numbers_count_nothing_without_a_card_reader(app, dishes):
    no_reader = kiosk_client(app, card_reader=False)
    anonymous = app.test_client()
    for i in range(150):
        body = {"dish_id": dishes["rice"].id, "score": 1, "channel": "kiosk", "client_id": f"stuff-card-{i:04d}",
                "employee_no": str(random.randrange(10_000, 99_999))}
        r = (no_reader if i % 2 else anonymous).post("/api/v1/ratings", json=body)
        assert r.status_code == 403 and r.get_json()["field"] in ({"employee_no"} if i % 2 else {"kiosk"})
    assert in_db(app, lambda: Rating.select().count()) == 0


def test_phone_votes_with_made_up_cookies_count_nothing(app, dishes):
    with app.test_request_context():
        token = qr.card_token(in_db(app, lambda: QrCard.create(label="3号桌").id))
    for i in range(30):
        phone = app.test_client()
        phone.set_cookie("canteen_phone", secrets.token_urlsafe(16))
        r = phone.post("/api/v1/ratings", json={"dish_id": dishes["rice"].id, "score": 1, "channel": "phone",
                                                "client_id": f"stuff-phone-{i:04d}", "qr_token": token})
        assert (r.status_code, r.get_json()["field"]) == (403, "channel")
    assert in_db(app, lambda: Rating.select().count()) == 0
    real = app.test_client()
    assert real.get(f"/p/{token}").status_code == 200  # the server issues a signed cookie ...
    issued = real.get_cookie("canteen_phone").value
    assert "." in issued
    r = real.post("/api/v1/ratings", json={"dish_id": dishes["rice"].id, "score": 4, "channel": "phone",
                                           "client_id": "real-phone-0001", "qr_token": token,
                                           "voted_at": at_lunch(app)})
    assert r.status_code == 201  # ... and a phone holding it votes


def test_phone_ids_handed_out_per_address_are_limited(tmp_path, db_url):
    from .conftest import close_pool, make_app

    app = make_app(db_url, tmp_path, PHONE_COOKIES_PER_MINUTE=3)
    try:
        with app.test_request_context():
            token = qr.card_token(in_db(app, lambda: QrCard.create(label="5号桌").id))
        codes = [app.test_client().get(f"/p/{token}").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
    finally:
        close_pool()


def test_demo_mode_keeps_unpaired_kiosks_but_never_lets_a_header_override_a_paired_one(tmp_path, db_url):
    from .conftest import add_dish, close_pool, make_app

    app = make_app(db_url, tmp_path, DEMO=True)
    try:
        dish = in_db(app, lambda: add_dish("试菜", "Test dish", 900))
        r = app.test_client().post("/api/v1/ratings", json={"dish_id": dish.id, "score": 4, "channel": "kiosk",
                                                             "client_id": "demo-kiosk-0001", "voted_at": at_lunch(app)},
                                   headers={"X-Canteen-Kiosk": "lamp-room"})
        assert r.status_code == 201
        assert app.test_client().get("/kiosk/qr.svg").status_code == 200
        r = app.test_client().post("/api/v1/ratings", json={"dish_id": dish.id, "score": 4, "channel": "kiosk",
                                                             "client_id": "demo-kiosk-0002", "employee_no": "12345"})
        assert (r.status_code, r.get_json()["field"]) == (403, "employee_no")  # the demo has no reader on
        assert in_db(app, lambda: Rating.get(Rating.client_id == "demo-kiosk-0001").kiosk) == "lamp-room"
    finally:
        close_pool()


def test_racing_reason_changes_never_answer_500(app, dishes):
    import threading

    exit_kiosk = kiosk_client(app)
    device = exit_kiosk.get_cookie("canteen_kiosk").value
    assert vote(exit_kiosk, dishes["pork"], 2, "chg-race-0001").status_code == 201
    codes = []

    def change(tags):
        with app.test_client() as c:
            c.set_cookie("canteen_kiosk", device)
            codes.append(c.patch("/api/v1/ratings/chg-race-0001", json={"tags": tags, "changed_at": soon(app)})
                         .status_code)

    sets = [["cold"], ["cold", "too_salty"], ["too_salty"], ["cold", "too_oily"]] * 5
    threads = [threading.Thread(target=change, args=(t,)) for t in sets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * len(sets)
    tags = in_db(app, lambda: sorted(t.tag for t in RatingTag.select()))
    assert tags and set(tags) <= {"cold", "too_salty", "too_oily"} and len(tags) == len(set(tags))


def test_a_vote_stored_long_ago_cannot_be_taken_back_by_claiming_an_early_time(app, dishes):
    exit_kiosk = kiosk_client(app)
    assert vote(exit_kiosk, dishes["pork"], 1, "chg-old-00001").status_code == 201
    stored = in_db(app, lambda: Rating.get(Rating.client_id == "chg-old-00001").created_at)
    in_db(app, lambda: Rating.update(created_at=stored - dt.timedelta(minutes=30))
          .where(Rating.client_id == "chg-old-00001").execute())
    r = exit_kiosk.delete("/api/v1/ratings/chg-old-00001", json={"changed_at": at_lunch(app)})
    assert (r.status_code, r.get_json()["field"]) == (409, "changed_at")
    assert in_db(app, lambda: Rating.get(Rating.client_id == "chg-old-00001").flag) != "withdrawn"


def test_a_made_up_phone_cookie_is_refused_before_anything_else(app, dishes):
    phone = app.test_client()
    phone.set_cookie("canteen_phone", "abc")
    r = phone.patch("/api/v1/ratings/whatever-0001", json={"tags": []})
    assert (r.status_code, r.get_json()["field"]) == (403, "channel")
    r = phone.post("/api/v1/ratings", json={"dish_id": dishes["rice"].id, "score": 1, "channel": "phone",
                                            "client_id": "fake-token-0001", "qr_token": "made-up"})
    assert (r.status_code, r.get_json()["field"]) == (403, "channel")


def test_a_real_installation_started_with_the_demo_switch_on_stays_closed(tmp_path, db_url):
    from canteen.models import AppSetting

    from .conftest import add_dish, close_pool, make_app

    app = make_app(db_url, tmp_path, DEMO=True)
    try:
        dish = in_db(app, lambda: add_dish("试菜", "Test dish", 900))
        in_db(app, lambda: AppSetting.write("demo", "0"))  # it served once with CANTEEN_DEMO=0
        r = app.test_client().post("/api/v1/ratings", json={"dish_id": dish.id, "score": 4, "channel": "kiosk",
                                                             "client_id": "real-closed-01", "voted_at": at_lunch(app)})
        assert (r.status_code, r.get_json()["field"]) == (403, "kiosk")
        assert app.test_client().get("/kiosk/qr.svg").status_code == 403
    finally:
        close_pool()
