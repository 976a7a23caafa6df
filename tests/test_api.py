"""The JSON API contract: /api/v1/menu/current and /api/v1/ratings, on SQLite and PostgreSQL."""
import json
import threading

import pytest

from canteen.feedback.models import Rating, RatingTag
from canteen.models import database

from .conftest import kiosk_client

VALID = {"score": 5, "tags": ["tasty"], "channel": "kiosk"}


def vote(client, dish_id, client_id, **overrides):
    body = dict(VALID, dish_id=dish_id, client_id=client_id)
    body.update(overrides)
    return client.post("/api/v1/ratings", json=body)


def stored(app):
    with app.app_context(), database.connection_context():
        return Rating.select().count(), RatingTag.select().count()


def test_current_menu_lists_the_dishes_served_now(client, dishes):
    r = client.get("/api/v1/menu/current")
    assert r.status_code == 200
    menu = r.get_json()
    assert menu["meal"] in {"breakfast", "lunch", "dinner", "night"}
    assert len(menu["date"]) == 10
    by_id = {d["id"]: d for d in menu["dishes"]}
    assert set(by_id) == {dishes[k].id for k in ("noodles", "pork", "rice")}
    pork = by_id[dishes["pork"].id]
    assert pork == {"id": dishes["pork"].id, "name": "红烧肉", "price": 12.0, "price_fen": 1200,
                    "category": "meat", "is_new": True, "photo_url": None}
    assert by_id[dishes["rice"].id]["is_new"] is False


def test_current_menu_speaks_the_requested_language(client, dishes):
    assert client.get("/api/v1/menu/current").get_json()["meal_name"] in {"早餐", "午餐", "晚餐", "班中餐"}
    english = client.get("/api/v1/menu/current", headers={"Accept-Language": "en-US,en;q=0.8"}).get_json()
    assert {d["name"] for d in english["dishes"]} == {"Saozi noodles", "Braised pork belly", "Steamed rice"}
    assert english["meal_name"] in {"Breakfast", "Lunch", "Dinner", "Night-shift meal"}
    assert client.get("/api/v1/menu/current?lang=zh_CN",
                      headers={"Accept-Language": "en"}).get_json()["dishes"][0]["name"] in {"臊子面", "红烧肉", "米饭"}


def test_a_vote_is_stored_with_its_tags_kiosk_and_meal(app, dishes):
    client = kiosk_client(app, "lamp-room")
    r = client.post("/api/v1/ratings", json={"dish_id": dishes["pork"].id, "score": 2,
                                             "tags": ["too_salty", "cold"], "channel": "kiosk",
                                             "client_id": "kiosk-test-0001"},
                    headers={"X-Canteen-Kiosk": "spoofed"})  # the paired device's name wins
    assert r.status_code == 201
    body = r.get_json()
    with app.app_context(), database.connection_context():
        rating = Rating.get_by_id(body["id"])
        assert (rating.dish_id, rating.score, rating.channel, rating.kiosk) == (dishes["pork"].id, 2, "kiosk", "lamp-room")
        assert rating.tags() == ["cold", "too_salty"]
        assert rating.meal == body["meal"] and rating.day.isoformat() == body["day"]


def card_token(app, label="table 1"):
    from canteen.feedback import qr
    from canteen.feedback.models import QrCard
    with app.app_context(), database.connection_context():
        return qr.card_token(QrCard.create(label=label).id)


def test_kiosk_without_a_name_records_the_configured_one_and_phones_none(app, client, dishes):
    a = vote(client, dishes["rice"].id, "kiosk-test-0002").get_json()["id"]
    token = card_token(app)
    assert vote(client, dishes["rice"].id, "phone-test-0004", channel="phone", qr_token=token).status_code == 403
    assert client.get(f"/p/{token}").status_code == 200  # the QR page gives the phone its cookie
    b = vote(client, dishes["rice"].id, "phone-test-0003", channel="phone", qr_token=token).get_json()["id"]
    with app.app_context(), database.connection_context():
        assert Rating.get_by_id(a).kiosk == "canteen-exit"
        assert Rating.get_by_id(b).kiosk is None


def test_same_client_id_is_stored_once(app, client, dishes):
    first = vote(client, dishes["noodles"].id, "retry-key-0001")
    again = vote(client, dishes["noodles"].id, "retry-key-0001")
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert stored(app) == (1, 1)


def test_same_client_id_for_another_vote_is_a_conflict(app, client, dishes):
    vote(client, dishes["noodles"].id, "retry-key-0002")
    r = vote(client, dishes["noodles"].id, "retry-key-0002", score=1)
    assert r.status_code == 409
    assert r.get_json()["field"] == "client_id"
    assert stored(app) == (1, 1)


def test_concurrent_retries_of_one_vote_store_one_row(app, dishes):
    results = []
    device = kiosk_client(app).get_cookie("canteen_kiosk").value  # one kiosk retrying from 8 threads

    def send():
        with app.test_client() as c:
            c.set_cookie("canteen_kiosk", device)
            results.append(vote(c, dishes["rice"].id, "burst-key-0001").status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] * 7 + [201]
    assert stored(app) == (1, 1)


MISSING = object()

BAD = [
    ({"dish_id": MISSING}, "dish_id", 422),
    ({"dish_id": None}, "dish_id", 422),
    ({"dish_id": "1"}, "dish_id", 422),
    ({"dish_id": True}, "dish_id", 422),
    ({"dish_id": 0}, "dish_id", 422),
    ({"dish_id": 999999}, "dish_id", 422),
    ({"score": 0}, "score", 422),
    ({"score": 6}, "score", 422),
    ({"score": 4.5}, "score", 422),
    ({"score": 5.0}, "score", 422),
    ({"score": "5"}, "score", 422),
    ({"score": True}, "score", 422),
    ({"score": None}, "score", 422),
    ({"score": MISSING}, "score", 422),
    ({"tags": "tasty"}, "tags", 422),
    ({"tags": [1]}, "tags", 422),
    ({"tags": ["delicious"]}, "tags", 422),
    ({"tags": ["tasty"] * 11}, "tags", 422),
    ({"channel": "sms"}, "channel", 422),
    ({"client_id": None}, "client_id", 422),
    ({"client_id": MISSING}, "client_id", 422),
    ({"client_id": 12345678}, "client_id", 422),
    ({"client_id": "short"}, "client_id", 422),
    ({"client_id": "x" * 65}, "client_id", 422),
    ({"client_id": "has space in it"}, "client_id", 422),
]


@pytest.mark.parametrize("change,field,status", BAD)
def test_invalid_votes_are_refused_with_the_field_and_nothing_is_stored(app, client, dishes, change, field, status):
    body = dict(VALID, dish_id=dishes["rice"].id, client_id="bad-input-0001")
    body.update(change)
    body = {k: v for k, v in body.items() if v is not MISSING}
    r = client.post("/api/v1/ratings", json=body)
    assert r.status_code == status
    err = r.get_json()
    assert err["field"] == field and isinstance(err["error"], str) and err["error"]
    assert stored(app) == (0, 0)


def test_dish_not_on_todays_menu_is_refused(app, client, dishes):
    r = vote(client, dishes["offmenu"].id, "not-served-0001")
    assert r.status_code == 422
    assert r.get_json()["field"] == "dish_id" and "menu" in r.get_json()["error"]
    assert stored(app) == (0, 0)


def test_retired_dish_is_refused(app, client, dishes):
    with app.app_context(), database.connection_context():
        dishes["noodles"].active = False
        dishes["noodles"].save()
    assert vote(client, dishes["noodles"].id, "retired-0001").status_code == 422


@pytest.mark.parametrize("data,content_type", [
    ("{not json", "application/json"),
    ("", "application/json"),
    ("[1, 2]", "application/json"),
    ('"a string"', "application/json"),
    ("null", "application/json"),
    (b"\xff\xfe\x00", "application/json"),
    ('{"dish_id": 1, "score": 5}', "text/plain"),
    ("dish_id=1&score=5", "application/x-www-form-urlencoded"),
])
def test_body_that_is_not_a_json_object_is_a_400(app, client, dishes, data, content_type):
    r = client.post("/api/v1/ratings", data=data, content_type=content_type)
    assert r.status_code == (400 if content_type == "application/json" else 415)  # 415: not JSON at all
    assert r.get_json()["field"] == "body"
    assert stored(app) == (0, 0)


def test_oversized_body_is_refused_before_it_is_read(app, client, dishes):
    body = json.dumps(dict(VALID, dish_id=dishes["rice"].id, client_id="big-body-0001", pad="x" * 20000))
    r = client.post("/api/v1/ratings", data=body, content_type="application/json")
    assert r.status_code == 413
    assert r.get_json()["field"] == "body"
    assert stored(app) == (0, 0)


def test_unknown_api_paths_and_methods_answer_in_json(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and "error" in r.get_json()
    r = client.delete("/api/v1/ratings")
    assert r.status_code == 405 and "error" in r.get_json()
