"""What the representatives' suggestions cost the kiosk's menu request.

    python bench/suggestions.py [--suggestions 50] [--votes 200000] [--repeat 50]

`GET /api/v1/menu/current` is what every kiosk asks for its dishes and its "you asked, we
changed" list; done suggestions are looked up there with their trial's verdict or their
change's before/after (from the rollups, as the reports compute them). Timed server side
through the Flask app (median of --repeat), in one run: the baseline is the same request
on the same database before any suggestion exists; then with --suggestions done ones (half
linked to a kept trial dish, half to a change that scored better), as served (each process
keeps the outcomes, CANTEEN_ANNOUNCE_CACHE_SECONDS), and computed on every request (the
cache off: what the first request after a write or after the TTL pays).
"""
import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from canteen import create_app  # noqa: E402
from canteen.clock import clock  # noqa: E402
from canteen.feedback.models import DishChange, Rating, TrialDecision  # noqa: E402
from canteen.models import Dish, MenuItem, database, utcnow  # noqa: E402
from canteen.reports.models import Suggestion  # noqa: E402


def seed_votes(rng, dishes, n, today):
    rows = []
    for i in range(n):
        day = today - dt.timedelta(days=rng.randrange(1, 90))
        rows.append({"dish": rng.choice(dishes), "score": rng.choice((3, 4, 4, 5, 5)), "channel": "kiosk",
                     "client_id": f"b-{i}", "day": day, "meal": "lunch",
                     "voted_at": dt.datetime.combine(day, dt.time(4))})
    with database.atomic():
        for start in range(0, len(rows), 1000):
            Rating.insert_many(rows[start:start + 1000]).execute()


def timed(client, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get("/api/v1/menu/current?lang=zh_CN")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    return statistics.median(times), response.get_json()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--suggestions", type=int, default=50)
    parser.add_argument("--votes", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    rng = random.Random(18)
    folder = tempfile.mkdtemp()
    app = create_app({"TESTING": True, "DEMO": False, "INSTANCE_PATH": folder, "SECRET_KEY": "b" * 40,
                      "DATABASE_URL": f"sqlite:///{folder}/bench.db"})
    client = app.test_client()
    with app.app_context(), database.connection_context():
        today = clock().today()
        dishes = [Dish.create(name_zh=f"菜{i:02d}", name_en=f"Dish {i:02d}", price_fen=500 + i,
                              trial_start=today - dt.timedelta(days=60) if i % 2 else None) for i in range(30)]
        MenuItem.insert_many([(today, w.name, d.id) for d in dishes[:8] for w in clock().windows],
                             fields=[MenuItem.day, MenuItem.meal, MenuItem.dish]).execute()
        seed_votes(rng, [d.id for d in dishes], args.votes, today)
    baseline, _menu = timed(client, args.repeat)
    with app.app_context(), database.connection_context():
        for i in range(args.suggestions):
            dish = dishes[i % 30]
            s = Suggestion(kind="taste", text="x", team=f"队{i}", venue="committee", raised_on=today,
                           status="done", done_at=utcnow(), author="bench")
            if dish.trial_start:
                TrialDecision.create(dish=dish, decision="keep", suggested="keep", author="bench")
                s.trial_dish = dish
            else:
                s.change = DishChange.create(dish=dish, day=today - dt.timedelta(days=30), kind="recipe",
                                             author="bench")
            s.save()
    with_suggestions, menu = timed(client, args.repeat)
    app.config["ANNOUNCE_CACHE_SECONDS"] = 0
    computed, _menu = timed(client, args.repeat)
    shown = sum(a["kind"] == "suggestion" for a in menu["announcements"])
    print(f"{args.votes} votes, {args.suggestions} done suggestions ({shown} shown on the kiosk)")
    print(f"menu request, baseline (no suggestions): {baseline * 1000:.1f} ms")
    print(f"menu request, with suggestions:          {with_suggestions * 1000:.1f} ms "
          f"({with_suggestions / baseline:.2f}x the baseline)")
    print(f"menu request, outcomes computed each time: {computed * 1000:.1f} ms "
          f"({computed / baseline:.2f}x the baseline; the first request after a write or the TTL)")


if __name__ == "__main__":
    main()
