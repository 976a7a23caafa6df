"""How fast the union's reports stay as votes pile up: 1 000 000 and 5 000 000 votes.

    python bench/reports.py [--votes 1000000 5000000] [--years-per-million 1] [--repeat 5]

A large mine casts about a million votes a year, so N million votes are seeded over N
years of a canteen (30 dishes, eight of them on each of four daily meals, four places,
three shifts, 1 % flagged, 40 % with a reason chip) into SQLite, the rollups rebuilt, and then timed, server side through the Flask app
(median of --repeat runs):

- the scoreboard (default: the last 28 days), over the last year, and over the whole history;
- the trend page (default: 12 weeks per meal) and a year per dish;
- the baseline, in the same run: a bare `SELECT dish_id, COUNT(*), AVG(score) FROM rating
  GROUP BY dish_id` over the same table — the faster of SQLite's own plan (through the
  dish_id index) and a plain table scan (NOT INDEXED), so that the ratios flatter nothing.

Targets (issue 8): scoreboard under 200 ms at 1 M votes and under 500 ms at 5 M, within 3×
of the bare query.
"""
import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from canteen import create_app  # noqa: E402
from canteen.clock import clock  # noqa: E402
from canteen.feedback.rollups import install_triggers, rebuild  # noqa: E402
from canteen.models import Dish, database  # noqa: E402
from canteen.office.accounts import User  # noqa: E402

MEALS = ("breakfast", "lunch", "dinner", "night")
PLACES = ("canteen-exit", "lamp-room", "shaft-head", "bath-house")
SHIFT_OF_MEAL = {"breakfast": "night", "lunch": "early", "dinner": "middle", "night": "middle"}
DISHES_PER_MEAL = 8  # of 30 on the list, as in the demo's menus
TAGS = ("too_salty", "too_bland", "too_oily", "cold", "small_portion", "tasty", "want_again")


def seed(n, years, rng):
    """n votes over `years` years ending yesterday, bulk-inserted without the triggers."""
    today = clock().today()
    days = int(365 * years)
    first = today - dt.timedelta(days=days)
    dishes = [Dish.create(name_zh=f"菜{i:02d}", name_en=f"Dish {i:02d}", price_fen=300 + 40 * i).id
              for i in range(30)]
    quality = {d: rng.uniform(3.0, 4.6) for d in dishes}
    for name in ("rating_rollup_insert", "rating_rollup_update", "rating_rollup_delete", "rating_tag_rollup_insert",
                 "rating_tag_rollup_delete"):
        database.execute_sql(f"DROP TRIGGER IF EXISTS {name}")
    per_day = n / days
    rid = 0
    batch, tags = [], []
    started = time.perf_counter()
    day = first
    while rid < n:
        count = min(n - rid, int(per_day) + (1 if rng.random() < per_day % 1 else 0))
        menu = {meal: rng.sample(dishes, DISHES_PER_MEAL) for meal in MEALS}  # votes go to dishes served
        for _ in range(count):
            rid += 1
            meal = rng.choice(MEALS)
            dish = rng.choice(menu[meal])
            score = max(1, min(5, round(rng.gauss(quality[dish], 1.0))))
            at = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)))
            flag = "burst" if rng.random() < 0.01 else None
            batch.append((rid, dish, score, "kiosk", rng.choice(PLACES), f"b{rid}", day, meal, at, at, flag,
                          rng.choice(PLACES), SHIFT_OF_MEAL[meal]))
            if rng.random() < 0.4:
                tags.append((rid, rng.choice(TAGS)))
        if len(batch) >= 50000 or rid >= n:
            with database.atomic():
                database.cursor().executemany(
                    "INSERT INTO rating (id, dish_id, score, channel, kiosk, client_id, day, meal, created_at, "
                    "voted_at, flag, place, shift) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
                database.cursor().executemany("INSERT INTO rating_tag (rating_id, tag) VALUES (?,?)", tags)
            batch, tags = [], []
        day += dt.timedelta(days=1)
        if day >= today:
            day = first
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    rows = rebuild()
    install_triggers(database)
    return seeded, time.perf_counter() - started, rows, first


def timed(fn, repeat):
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs)


def page(client, url):
    def get():
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        r.close()
    return get


def run(n, years, repeat):
    folder = tempfile.mkdtemp(prefix="canteen-bench-")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.db", "DEMO": False, "SECRET_KEY": "bench-only-secret-key",
                      "INSTANCE_PATH": folder, "TESTING": True, "WTF_CSRF_ENABLED": False})
    with app.app_context(), database.connection_context():
        seeded, rebuilt, rows, first = seed(n, years, random.Random(8))
        user = User(username="union", display_name="bench")
        user.set_roles(["union"])
        user.set_password("bench-password-2026")
        user.save()
        today = clock().today()
    client = app.test_client()
    client.set_cookie("lang", "en")
    r = client.post("/login", data={"username": "union", "password": "bench-password-2026"})
    assert r.status_code == 302, r.status_code

    def bare(hint=""):
        def query():
            with app.app_context(), database.connection_context():
                database.execute_sql(f"SELECT dish_id, COUNT(*), AVG(score) FROM rating {hint} "
                                     "GROUP BY dish_id").fetchall()
        return query
    year_ago = (today - dt.timedelta(days=364)).isoformat()
    results = {
        "bare GROUP BY (baseline)": min(timed(bare(), repeat), timed(bare("NOT INDEXED"), repeat)),
        "scoreboard, last 28 days": timed(page(client, "/reports/scoreboard"), repeat),
        "scoreboard, last 365 days": timed(page(client, f"/reports/scoreboard?from={year_ago}&to={today}"), repeat),
        "scoreboard, whole history": timed(page(client, f"/reports/scoreboard?from={first}&to={today}"), repeat),
        "trends per meal, 12 weeks": timed(page(client, "/reports/trends"), repeat),
        "trends per dish, a year": timed(page(client, f"/reports/trends?by=dish&from={year_ago}"), repeat),
        "weekly report": timed(page(client, "/reports/weekly"), repeat),
    }
    size = os.path.getsize(f"{folder}/bench.db") / 2 ** 20
    print(f"\n{n:,} votes over {years:g} year(s): seeded in {seeded:.1f} s, rollups rebuilt in {rebuilt:.1f} s "
          f"({rows:,} rollup rows), database {size:,.0f} MiB")
    base = results["bare GROUP BY (baseline)"]
    for name, ms in results.items():
        print(f"  {name:<28} {ms:8.1f} ms   {ms / base:5.2f} × baseline")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--years-per-million", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for n in args.votes:
        run(n, max(n / 1_000_000 * args.years_per_million, 0.1), args.repeat)


if __name__ == "__main__":
    main()
