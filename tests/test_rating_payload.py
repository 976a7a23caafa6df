"""Reading a rating payload (pure), including property tests over arbitrary JSON."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.feedback.payload import PayloadError, RatingInput, read_rating

TAGS = ("too_salty", "tasty", "cold")


def test_a_minimal_vote_gets_defaults():
    vote = read_rating({"dish_id": 3, "score": 4, "client_id": "abcdefgh"}, TAGS)
    assert vote == RatingInput(3, 4, (), "kiosk", "abcdefgh")


def test_tags_are_deduplicated_and_sorted():
    vote = read_rating({"dish_id": 3, "score": 4, "client_id": "abcdefgh",
                        "tags": ["tasty", "cold", "tasty"]}, TAGS)
    assert vote.tags == ("cold", "tasty")


def test_not_an_object_is_a_400():
    with pytest.raises(PayloadError) as e:
        read_rating([1], TAGS)
    assert (e.value.status, e.value.field) == (400, "body")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
payloads = st.fixed_dictionaries({}, optional={
    "dish_id": json_values | st.integers(min_value=-5, max_value=50),
    "score": json_values | st.integers(min_value=-2, max_value=8),
    "tags": json_values | st.lists(st.sampled_from(TAGS + ("bogus",)), max_size=12),
    "channel": json_values | st.sampled_from(["kiosk", "phone", "web"]),
    "client_id": json_values | st.text(alphabet="abcdef0123456789-", min_size=0, max_size=70),
}) | json_values


@settings(max_examples=500, deadline=None)
@given(payloads)
def test_any_payload_is_either_a_valid_vote_or_a_named_error(payload):
    try:
        vote = read_rating(payload, TAGS)
    except PayloadError as e:
        assert e.status in (400, 422) and e.field and e.message
        return
    assert type(vote.dish_id) is int and vote.dish_id >= 1
    assert type(vote.score) is int and 1 <= vote.score <= 5
    assert set(vote.tags) <= set(TAGS)
    assert vote.channel in ("kiosk", "phone")
    assert 8 <= len(vote.client_id) <= 64
