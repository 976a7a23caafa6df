"""Property tests through the real API and database: no input gives a 5xx or a bad row."""
import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canteen.feedback.models import Rating, RatingTag
from canteen.models import database

from .conftest import add_dish, kiosk_client
from .test_rating_payload import payloads

SEQUENCE = itertools.count()  # hypothesis replays examples; the database remembers keys


@pytest.fixture
def served_app(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        add_dish("米饭", "Steamed rice")  # id 1
        add_dish("馒头", "Steamed bun")  # id 2
        add_dish("羊肉泡馍", "Mutton paomo", served=False)  # id 3: not on the menu
    return sqlite_app


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads, raw=st.binary(max_size=64))
def test_no_payload_breaks_the_api_or_the_rules(served_app, payload, raw):
    client = kiosk_client(served_app)
    for body in (json.dumps(payload), raw):
        r = client.post("/api/v1/ratings", data=body, content_type="application/json")
        assert r.status_code in (200, 201, 400, 403, 409, 422), r.status_code
        answer = r.get_json()
        assert ("id" in answer) if r.status_code < 300 else (answer["error"] and "field" in answer)
    with served_app.app_context(), database.connection_context():
        for rating in Rating.select():
            assert 1 <= rating.score <= 5
            assert rating.channel in ("kiosk", "phone")
            assert rating.dish_id in (1, 2)
        allowed = set(served_app.extensions["canteen_reason_tags"])
        assert {t for (t,) in RatingTag.select(RatingTag.tag).tuples()} <= allowed


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dish_id=st.integers(1, 3), score=st.integers(1, 5),
       tags=st.lists(st.sampled_from(["tasty", "cold", "too_salty"]), max_size=3),
       key=st.just("prop").map(lambda p: f"{p}-{next(SEQUENCE):08d}"))
def test_valid_votes_are_stored_exactly_once(served_app, dish_id, score, tags, key):
    client = kiosk_client(served_app)
    body = {"dish_id": dish_id, "score": score, "tags": tags, "channel": "kiosk", "client_id": key}
    first = client.post("/api/v1/ratings", json=body)
    second = client.post("/api/v1/ratings", json=body)
    if dish_id == 3:
        assert first.status_code == 422 and second.status_code == 422
        return
    assert first.status_code == 201
    assert second.status_code == 200 and second.get_json()["id"] == first.get_json()["id"]
    with served_app.app_context(), database.connection_context():
        rating = Rating.get(Rating.client_id == key)
        assert (rating.dish_id, rating.score, rating.tags()) == (dish_id, score, sorted(set(tags)))
