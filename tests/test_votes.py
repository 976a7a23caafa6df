"""Trustworthy votes: QR tokens, one vote per person, flags, rate limits, offline replay times."""
import datetime as dt
import threading
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from canteen.clock import clock
from canteen.feedback import qr
from canteen.feedback.models import QrCard, Rating
from canteen.feedback.payload import PayloadError, read_rating
from canteen.feedback.votes import flag_reason, voter_key
from canteen.models import database, utcnow

from .conftest import kiosk_client, signed_in

TAGS = ("tasty", "cold")
NOW = dt.datetime(2026, 11, 26, 4, 0)  # naive UTC


def in_db(app, fn):
    with app.app_context(), database.connection_context():
        return fn()


# --- pure rules -----------------------------------------------------------------

def test_voter_key_is_stable_keyed_and_reveals_nothing():
    a = voter_key("secret-1", "card", "10086")
    assert a == voter_key("secret-1", "card", "10086")
    assert a != voter_key("secret-2", "card", "10086") != voter_key("secret-1", "phone", "10086")
    assert "10086" not in a and len(a) == 64


LUNCH = (dt.datetime(2026, 11, 26, 11, 0), dt.datetime(2026, 11, 26, 13, 0))


@pytest.mark.parametrize("facts,expected", [
    ({}, None),
    ({"votes_in_last_minute": 15}, "burst"),
    ({"votes_in_last_minute": 14}, None),
    ({"voted_local": dt.datetime(2026, 11, 26, 10, 29)}, "outside_meal"),  # before the meal
    ({"voted_local": dt.datetime(2026, 11, 26, 10, 31)}, None),
    ({"voted_local": dt.datetime(2026, 11, 26, 16, 1)}, "outside_meal"),  # 3 h after it ended
    ({"token_age": 721, "token_max_age": 900}, "token_near_expiry"),
    ({"token_age": 700, "token_max_age": 900}, None),
])
def test_flag_reason(facts, expected):
    args = dict(votes_in_last_minute=0, burst_limit=15, voted_local=dt.datetime(2026, 11, 26, 12, 30),
                meal_window=LUNCH, early_minutes=30, late_hours=3)
    args.update(facts)
    assert flag_reason(**args) == expected


def base(**extra):
    return dict({"dish_id": 1, "score": 4, "client_id": "abcdefgh"}, **extra)


@pytest.mark.parametrize("payload,field", [
    (base(voted_at="2026-11-26 03:59:00"), "voted_at"),          # no zone
    (base(voted_at="yesterday"), "voted_at"),
    (base(voted_at=1732600000), "voted_at"),
    (base(voted_at="2026-11-26T04:10:00Z"), "voted_at"),         # in the future
    (base(voted_at="2026-11-10T04:00:00Z"), "voted_at"),         # more than 7 days old
    (base(comment="x" * 501), "comment"),
    (base(comment=["not", "text"]), "comment"),
    (base(channel="phone"), "qr_token"),
    (base(channel="phone", qr_token="t", employee_no="12345"), "employee_no"),
    (base(employee_no="12"), "employee_no"),
    (base(employee_no="12 34 56"), "employee_no"),
])
def test_bad_new_fields_are_named(payload, field):
    with pytest.raises(PayloadError) as e:
        read_rating(payload, TAGS, now=NOW)
    assert e.value.field == field


def test_new_fields_are_read():
    vote = read_rating(base(voted_at="2026-11-26T11:30:00+08:00", comment=" 太咸了\x00\n下次少放盐 ",
                            employee_no=" ab1234 "), TAGS, now=NOW)
    assert vote.voted_at == dt.datetime(2026, 11, 26, 3, 30)
    assert vote.comment == "太咸了\n下次少放盐"
    assert vote.employee_no == "AB1234"
    assert read_rating(base(comment="   "), TAGS, now=NOW).comment is None


# --- tokens ---------------------------------------------------------------------

def old_kiosk_token(app, seconds_ago, kiosk="exit"):
    """A real kiosk token, signed with the app's key, issued `seconds_ago`."""
    class PastSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - seconds_ago

    signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="canteen.qr-kiosk", signer=PastSigner)
    return signer.dumps({"k": kiosk})


@pytest.fixture
def card(app):
    return in_db(app, lambda: QrCard.create(label="12号桌", location="一楼"))


def test_tokens_valid_forged_expired_revoked_rotated(app, card):
    with app.test_request_context():
        good_card = qr.card_token(card.id)
        assert qr.read_token(good_card).card_id == card.id
        fresh = qr.kiosk_token("lamp-room")
        assert qr.read_token(fresh).kiosk == "lamp-room"
        for forged in (good_card[:-2] + "xx", fresh.replace(".", "-", 1), "abc", "",
                       URLSafeTimedSerializer("other-key", salt="canteen.qr-kiosk").dumps({"k": "x"})):
            with pytest.raises(qr.TokenError) as e:
                in_db(app, lambda: qr.read_token(forged))
            assert e.value.reason == "forged"
        with pytest.raises(qr.TokenError) as e:
            qr.read_token(old_kiosk_token(app, 901))
        assert e.value.reason == "expired"
        assert qr.read_token(old_kiosk_token(app, 600)).age >= 599  # rotated away, still valid
    in_db(app, lambda: QrCard.update(revoked_at=utcnow()).where(QrCard.id == card.id).execute())
    with app.test_request_context(), pytest.raises(qr.TokenError) as e:
        in_db(app, lambda: qr.read_token(good_card))
    assert e.value.reason == "revoked"


def test_phone_page_answers_every_token_kind(app, card, dishes):
    client = app.test_client()
    with app.test_request_context():
        good = qr.card_token(card.id)
    r = client.get(f"/p/{good}")
    assert r.status_code == 200 and "12号桌" in r.get_data(as_text=True)
    assert client.get_cookie("canteen_phone").http_only
    assert "红烧肉" in r.get_data(as_text=True)
    assert client.get("/p/forged-token").status_code == 404
    assert client.get(f"/p/{old_kiosk_token(app, 1000)}").status_code == 410
    in_db(app, lambda: QrCard.update(revoked_at=utcnow()).execute())
    r = client.get(f"/p/{good}")
    assert r.status_code == 410 and "Traceback" not in r.get_data(as_text=True)


def test_kiosk_live_qr_rotates(app):
    assert app.test_client().get("/kiosk/qr.svg").status_code == 403  # live tokens: paired kiosks only
    client = kiosk_client(app)
    first = client.get("/kiosk/qr.svg")
    assert first.mimetype == "image/svg+xml" and first.headers["Cache-Control"] == "no-store"
    assert "<svg" in first.get_data(as_text=True)
    # Tokens carry their second of issue: one second on, the screen shows another code.
    time.sleep(1.05 - time.time() % 1)
    second = client.get("/kiosk/qr.svg")
    assert second.status_code == 200 and "<svg" in second.get_data(as_text=True)
    assert second.data != first.data


# --- one vote per person --------------------------------------------------------

def post(client, dish, score, key, **extra):
    body = {"dish_id": dish.id, "score": score, "client_id": key, "channel": "kiosk"}
    body.update(extra)
    return client.post("/api/v1/ratings", json=body)


def at_lunch(app, seconds=0):
    """voted_at during the most recent lunch (12:00 local), so that tests never depend on
    the hour they run at: votes then are inside their meal window and unflagged."""
    def compute():
        now = clock().now()
        noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
        if noon > now - dt.timedelta(minutes=2):
            noon -= dt.timedelta(days=1)
        return clock().local_to_utc(noon + dt.timedelta(seconds=seconds))
    return in_db(app, compute).isoformat() + "Z"


def counted(app):
    return in_db(app, lambda: sorted((r.dish_id, r.score) for r in Rating.counted()))


def phone_client(app, token):
    client = app.test_client()
    assert client.get(f"/p/{token}").status_code == 200  # the page sets the phone's cookie
    return client


def test_same_card_twice_counts_once_the_later(app, dishes):
    client = kiosk_client(app)
    for score, key, card_no, second in ((2, "card-vote-1", "10086", 0), (5, "card-vote-2", "10086", 30),
                                        (3, "card-vote-3", "20001", 40)):
        r = post(client, dishes["pork"], score, key, employee_no=card_no, voted_at=at_lunch(app, second))
        assert r.status_code == 201 and r.get_json()["flag"] is None
    assert counted(app) == sorted([(dishes["pork"].id, 5), (dishes["pork"].id, 3)])
    rows = in_db(app, lambda: list(Rating.select().order_by(Rating.id)))
    assert rows[0].replaced_by == rows[1].id and rows[1].replaced_by is None
    assert all("10086" not in (r.voter_key or "") for r in rows)


@pytest.mark.parametrize("per,kept", [("day", 1), ("meal", 2)])
def test_one_vote_per_day_or_per_meal(tmp_path, per, kept):
    """CANTEEN_ONE_VOTE_PER: one card at breakfast and at lunch of one day counts once per
    day (the later) or once per meal (both)."""
    from .conftest import add_dish, close_pool, make_app

    app = make_app(f"sqlite:///{tmp_path}/canteen.db", tmp_path, ONE_VOTE_PER=per)
    try:
        dish = in_db(app, lambda: add_dish("红烧肉", "Braised pork belly"))
        client = kiosk_client(app)
        for score, key, second in ((2, "card-breakfast", -4 * 3600 - 1800), (5, "card-lunch", 0)):
            r = post(client, dish, score, key, employee_no="10086", voted_at=at_lunch(app, second))
            assert r.status_code == 201 and r.get_json()["flag"] is None, r.get_json()
        meals = in_db(app, lambda: [r.meal for r in Rating.select().order_by(Rating.id)])
        assert meals == ["breakfast", "lunch"]
        assert counted(app) == ([(dish.id, 2), (dish.id, 5)] if kept == 2 else [(dish.id, 5)])
    finally:
        close_pool()


def test_same_phone_twice_counts_once_and_two_phones_twice(app, card, dishes):
    with app.test_request_context():
        token = qr.card_token(card.id)
    mine, other = phone_client(app, token), phone_client(app, token)
    for second, (client, score, key) in enumerate(((mine, 1, "phone-a-1"), (mine, 4, "phone-a-2"),
                                                   (other, 2, "phone-b-1"))):
        r = post(client, dishes["noodles"], score, key, channel="phone", qr_token=token, comment="<b>咸</b>",
                 voted_at=at_lunch(app, 20 * second))
        assert r.status_code == 201, r.get_json()
    assert counted(app) == sorted([(dishes["noodles"].id, 4), (dishes["noodles"].id, 2)])
    assert in_db(app, lambda: Rating.get(Rating.client_id == "phone-a-1").comment) == "<b>咸</b>"
    assert in_db(app, lambda: Rating.get(Rating.client_id == "phone-b-1").source) == f"card:{card.id}"


def test_a_replayed_older_vote_does_not_override_a_newer_one(app, dishes):
    client = kiosk_client(app)
    newer, older = at_lunch(app, 4 * 60), at_lunch(app, 0)  # inside lunch whatever the hour now
    assert post(client, dishes["rice"], 5, "replay-new", employee_no="30003", voted_at=newer).status_code == 201
    assert post(client, dishes["rice"], 1, "replay-old", employee_no="30003", voted_at=older).status_code == 201
    assert counted(app) == [(dishes["rice"].id, 5)]
    assert in_db(app, lambda: Rating.get(Rating.client_id == "replay-old").voted_at).isoformat() + "Z" == older


def test_identical_presses_on_one_kiosk_count_once(app, dishes):
    client = kiosk_client(app)
    for i in range(3):
        assert post(client, dishes["rice"], 4, f"press-{i:04d}", voted_at=at_lunch(app, i)).status_code == 201
    assert counted(app) == [(dishes["rice"].id, 4)]
    r = post(client, dishes["rice"], 2, "press-other", voted_at=at_lunch(app, 3))  # another face: another miner
    assert r.status_code == 201
    assert len(counted(app)) == 2


def test_identical_presses_sent_at_the_same_moment_count_once(app, dishes):
    """A double tap whose two votes reach the server together: each sees the other (the
    debounce is read inside the insert's transaction, the device's votes take turns)."""
    client = kiosk_client(app)
    barrier = threading.Barrier(2)
    answers = []

    def press(score, key, when):
        barrier.wait()
        answers.append(post(client, dishes["rice"], score, key, voted_at=when).status_code)

    for score in range(1, 6):  # five double taps, each another face (another miner)
        when = at_lunch(app, 10 * score)
        pair = [threading.Thread(target=press, args=(score, f"double-tap-{score}-{n}", when)) for n in range(2)]
        for t in pair:
            t.start()
        for t in pair:
            t.join()
    assert answers == [201] * 10
    assert counted(app) == [(dishes["rice"].id, score) for score in range(1, 6)]


def test_a_burst_from_one_device_is_kept_but_flagged_and_left_out(app, dishes, staff):
    client = kiosk_client(app)
    order = [dishes["rice"], dishes["pork"], dishes["noodles"]]
    flags = []
    for i in range(32):  # one vote every 1.5 s: more than 30 a minute from one kiosk
        r = post(client, order[i % 3], i % 5 + 1, f"burst-{i:04d}", voted_at=at_lunch(app, 1.5 * i))
        assert r.status_code == 201
        flags.append(r.get_json()["flag"])
    assert flags == [None] * 30 + ["burst", "burst"]
    assert in_db(app, lambda: Rating.select().count()) == 32  # nothing dropped
    day = in_db(app, lambda: Rating.get().day)
    report = signed_in(app, "union").get(f"/api/v1/summary?day={day}").get_json()
    assert sum(d["votes"] for d in report["dishes"]) == 30
    assert report["left_out"] == {"flagged": 2, "replaced": 0}


def test_the_day_summary_gives_no_mean_for_a_dish_with_fewer_than_five_voters(app, dishes, staff):
    """Two faces from one meal point at the miners who gave them: the summary API keeps the
    reports' privacy rule (CANTEEN_REPORT_MIN_GROUP) and says so."""
    client = kiosk_client(app)
    faces = [(dishes["rice"], 1), (dishes["rice"], 2)] + [(dishes["pork"], s) for s in (5, 4, 4, 5, 3)]
    for i, (dish, score) in enumerate(faces):
        assert post(client, dish, score, f"small-group-{i:04d}", voted_at=at_lunch(app, 10 * i)).status_code == 201
    day = in_db(app, lambda: Rating.get().day)
    report = signed_in(app, "union").get(f"/api/v1/summary?day={day}").get_json()
    by_id = {d["id"]: d for d in report["dishes"]}
    assert by_id[dishes["rice"].id] | {"name": None} == {"id": dishes["rice"].id, "name": None, "votes": 2,
                                                        "mean": None, "suppressed": True}
    assert (by_id[dishes["pork"].id]["votes"], by_id[dishes["pork"].id]["mean"],
            by_id[dishes["pork"].id]["suppressed"]) == (5, 4.2, False)


def test_the_shift_change_pace_is_no_burst_and_the_same_face_from_two_miners_counts_twice(app, dishes):
    """A kiosk takes a miner every ~2.5 s at a shift change: 40 votes 2.5 s apart, the same
    dish and face for two miners in a row, all counted."""
    client = kiosk_client(app)
    for i in range(40):
        r = post(client, dishes["pork"], 4 if i % 4 < 2 else 2, f"rush-{i:04d}", voted_at=at_lunch(app, 2.5 * i))
        assert (r.status_code, r.get_json()["flag"]) == (201, None), i
    assert len(counted(app)) == 40


def test_a_vote_long_after_its_meal_is_flagged(app, dishes):
    local = clock_now(app)
    at = local.replace(hour=5, minute=30, second=0, microsecond=0)
    if at > local:
        at -= dt.timedelta(days=1)
    utc_at = in_db(app, lambda: clock().local_to_utc(at))
    r = post(kiosk_client(app), dishes["rice"], 3, "late-vote-1", voted_at=utc_at.isoformat() + "Z")
    assert r.status_code == 201 and r.get_json()["flag"] == "outside_meal"
    assert in_db(app, lambda: Rating.get().voted_at) == utc_at


def clock_now(app):
    with app.app_context():
        return clock().now()


# --- rate limits ----------------------------------------------------------------

def test_rate_limit_per_address_answers_429_with_a_wait(tmp_path, db_url):
    from .conftest import add_dish, close_pool, make_app

    app = make_app(db_url, tmp_path, RATE_LIMIT_ADDRESS_PER_MINUTE=5, RATE_LIMIT_TOKEN_PER_MINUTE=100)
    try:
        dish = in_db(app, lambda: add_dish("米饭", "Rice"))
        with app.test_request_context():
            token = qr.card_token(in_db(app, lambda: QrCard.create(label="limit").id))
        client = phone_client(app, token)  # the QR page is the first of the address's 5 requests
        codes = [post(client, dish, 1 + i % 5, f"limit-{i:04d}", channel="phone", qr_token=token,
                      voted_at=at_lunch(app, i)).status_code for i in range(4)]
        assert codes == [201] * 4
        r = post(client, dish, 3, "limit-last", channel="phone", qr_token=token)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and r.get_json()["error"]
        assert in_db(app, lambda: Rating.select().count()) == 4
    finally:
        close_pool()


def test_a_token_that_is_not_ascii_is_forged_not_a_crash(app, dishes):
    r = kiosk_client(app).post("/api/v1/ratings", json={"dish_id": dishes["rice"].id, "score": 3, "channel": "phone",
                                                         "client_id": "surrogate-1", "qr_token": "\ud800abcd"})
    assert r.status_code == 422 and r.get_json()["field"] == "qr_token"


def test_cast_holds_every_rule_without_a_request(app, dishes):
    """Any channel (here: no HTTP at all) gets the vote's rules from votes.cast."""
    from canteen.feedback import votes

    noon, later = at_lunch(app), at_lunch(app, 90)

    def cast(key, score, sender, **extra):
        body = {"dish_id": dishes["rice"].id, "score": score, "client_id": key, "channel": "kiosk",
                "voted_at": noon, **extra}
        return votes.cast(read_rating(body, TAGS, now=utcnow()), sender)

    def run():
        assert cast("direct-0000", 4, votes.Sender(kiosk="lamp-room")).field == "kiosk"  # not paired
        assert cast("direct-0000", 4, votes.Sender(kiosk="lamp-room", paired=True),
                    employee_no="40004").field == "employee_no"  # no card reader
        lamp = votes.Sender(kiosk="lamp-room", place="灯房", paired=True, card_reader=True)
        first = cast("direct-0001", 4, lamp, employee_no="40004", tags=["tasty"])
        assert (first.status, first.meal, first.error) == (201, "lunch", None)
        assert cast("direct-0001", 4, lamp, employee_no="40004").rating_id == first.rating_id  # a retry: 200
        assert cast("direct-0001", 4, lamp).status == 200
        assert cast("direct-0001", 2, lamp).status == 409
        second = cast("direct-0002", 2, lamp, employee_no="40004", voted_at=later)
        assert second.status == 201
        phone = cast("direct-0003", 5, votes.Sender(), channel="phone", qr_token="x" * 20)
        assert (phone.status, phone.field) == (403, "channel")
        off_menu = votes.cast(read_rating({"dish_id": dishes["offmenu"].id, "score": 3, "client_id": "direct-0004",
                                           "channel": "kiosk", "voted_at": noon}, TAGS, now=utcnow()), lamp)
        assert (off_menu.status, off_menu.field) == (422, "dish_id")
        stored = Rating.get_by_id(first.rating_id)
        assert (stored.replaced_by, stored.place, stored.kiosk, stored.tags()) == (second.rating_id, "灯房",
                                                                                   "lamp-room", ["tasty"])
        assert [(r.score) for r in Rating.counted()] == [2]

    in_db(app, run)
