"""How fast the home page's numbers stay as votes pile up (issue 16).

    python bench/home.py [--votes 100000 1000000] [--repeat 7]

Seeds votes as bench/reports.py does (N million votes over N years, rollups rebuilt), then
times server side through the Flask app (median of --repeat runs) the home page of a user
holding all three roles (every tile: today's and this week's votes and good share, trials,
comments, logs, actions, alerts, kiosks, accounts, backups), against a baseline measured in
the same run: a bare `SELECT COUNT(*) FROM rating` (what any number read from the votes
themselves would cost at least).
"""
import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports import page, seed, timed  # noqa: E402

from canteen import create_app  # noqa: E402
from canteen.models import database  # noqa: E402
from canteen.office.accounts import User  # noqa: E402


def run(n, years, repeat):
    folder = tempfile.mkdtemp(prefix="canteen-bench-")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.db", "DEMO": False, "SECRET_KEY": "bench-only-secret-key",
                      "INSTANCE_PATH": folder, "TESTING": True, "WTF_CSRF_ENABLED": False})
    with app.app_context(), database.connection_context():
        seed(n, years, random.Random(16))
        user = User(username="boss", display_name="bench")
        user.set_roles(["manager", "union", "admin"])
        user.set_password("bench-password-2026")
        user.save()
    client = app.test_client()
    client.set_cookie("lang", "en")
    assert client.post("/login", data={"username": "boss", "password": "bench-password-2026"}).status_code == 302

    def bare():
        with app.app_context(), database.connection_context():
            database.execute_sql("SELECT COUNT(*) FROM rating").fetchall()
    base = timed(bare, repeat)
    home = timed(page(client, "/office/"), repeat)
    size = os.path.getsize(f"{folder}/bench.db") / 2 ** 20
    print(f"{n:>9,} votes ({size:,.0f} MiB): bare COUNT(*) {base:7.1f} ms; home page, every tile {home:7.1f} ms "
          f"= {home / base:5.2f} × baseline")
    return base, home


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for n in args.votes:
        run(n, max(n / 1_000_000, 0.1), args.repeat)


if __name__ == "__main__":
    main()
