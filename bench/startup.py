"""Start-up on an existing database: seconds from `python app.py` to the first 200 of /kiosk.

    python bench/startup.py [--votes 100000] [--repeat 3] [--json FILE]

Seeds a real (not demo) installation with N votes over a year (bench/reports.py's seed:
30 dishes, reasons, rollups rebuilt), then starts `python app.py` on it --repeat times and
takes the median time until /kiosk answers 200 to a paired kiosk; the same on an empty
installation. The
baseline, in the same run: the stack alone, `bench/bare_insert.py` (Flask + waitress + one
SQLite table) until its first 200. Also the resident memory of the idle server.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import free_port, pair_kiosk, rss_mb, wait_until_up  # noqa: E402


def seeded_instance(votes):
    from reports import seed

    from canteen import create_app
    from canteen.models import database

    folder = Path(tempfile.mkdtemp(prefix="canteen-startup-"))
    app = create_app({"DEMO": False, "INSTANCE_PATH": str(folder)})
    if votes:
        with app.app_context(), database.connection_context():
            seed(votes, 1, random.Random(17))
    database.obj.close_all()
    return folder


def time_start(args, env, url, repeat, headers=None):
    """Median seconds from spawning `args` until `url` answers 200, and the idle RSS (MB)."""
    times, memory = [], []
    for _ in range(repeat):
        started = time.monotonic()
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_up(url, proc, headers=headers)
            times.append(time.monotonic() - started)
            memory.append(rss_mb(proc.pid))
        finally:
            proc.terminate()
            proc.wait(10)
    return statistics.median(times), statistics.median(memory)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the numbers to this file")
    opts = parser.parse_args()

    results = {}
    t = time.perf_counter()
    full = seeded_instance(opts.votes)
    print(f"seeded {opts.votes} votes in {time.perf_counter() - t:.1f} s")
    empty = seeded_instance(0)
    bare_dir = Path(tempfile.mkdtemp(prefix="canteen-bare-"))
    port = free_port()
    bare, bare_mb = time_start([sys.executable, str(ROOT / "bench" / "bare_insert.py"), str(port),
                                str(bare_dir / "bare.db")], dict(os.environ), f"http://127.0.0.1:{port}/up",
                               opts.repeat)
    results["bare_start_s"], results["bare_idle_mb"] = bare, bare_mb
    for name, folder in (("empty", empty), ("seeded", full)):
        port = free_port()
        env = dict(os.environ, CANTEEN_INSTANCE_PATH=str(folder), CANTEEN_PORT=str(port), CANTEEN_DEMO="0")
        cookie = {"Cookie": "canteen_kiosk=" + pair_kiosk(folder / "canteen.db")}  # a real kiosk's screen
        seconds, mb = time_start([sys.executable, str(ROOT / "app.py")], env, f"http://127.0.0.1:{port}/kiosk",
                                 opts.repeat, cookie)
        results[f"{name}_start_s"], results[f"{name}_idle_mb"] = seconds, mb
    print(f"{'start-up (median of ' + str(opts.repeat) + ')':<34} {'s':>6} {'× bare':>7} {'idle MB':>8}")
    print(f"{'bare Flask + waitress + SQLite':<34} {bare:>6.2f} {1:>7.2f} {bare_mb:>8.0f}")
    for name, label in (("empty", "canteen, empty installation"), ("seeded", f"canteen, {opts.votes} votes")):
        s = results[f"{name}_start_s"]
        print(f"{label:<34} {s:>6.2f} {s / bare:>7.2f} {results[name + '_idle_mb']:>8.0f}")
    for folder in (full, empty, bare_dir):
        shutil.rmtree(folder, ignore_errors=True)
    if opts.json:
        Path(opts.json).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
