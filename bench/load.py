"""Shift-change rush: votes per second and latency against `python app.py`, on loopback.

    python bench/load.py                 # 16 and 64 clients, 10 s each
    python bench/load.py --seconds 20 --threads 12 --clients 16 64 128

Starts the real server (waitress, SQLite in WAL mode, demo data) in a second process and
drives it with wrk (Debian package `wrk`) from a third, as a paired kiosk (its device cookie)
would. Each vote carries a fresh client_id, so every request is a real INSERT committed to
disk. The baseline, measured in the same run on the same machine, is the stack's own limit:
a bare Flask endpoint doing one parameterised INSERT into SQLite with the same pragmas under
the same waitress settings (bench/bare_insert.py); a static file from the real server is a
second line. The report gives votes/s as a ratio of the bare insert, p50 and p99 latency
against the baseline's, errors, and checks that every acknowledged vote is in the database.

Also measured in the same run: the resident memory of `python app.py` idle and its peak
under the largest load (the bare server's beside it), and the back office under load: a
manager's script saving storage-temperature logs through the API (one at a time, a pause
between them), save latency p50/p99 with no votes and while the largest number of clients
vote — the ratio is what a rush costs the manager.
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

VOTE_SCRIPT = r"""
local counter = 0
local next_id = 0
setup = function(thread) thread:set("tid", next_id); next_id = next_id + 1 end
init = function(args)
  run_id = args[1]
  args_cookie = args[3] or ""
  dishes = {}
  for d in string.gmatch(args[2], "%d+") do table.insert(dishes, d) end
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"dish_id": %s, "score": %d, "tags": ["tasty"], "channel": "kiosk", "client_id": "bench-%s-%d-%d"}',
    dishes[(counter % #dishes) + 1], (counter % 5) + 1, run_id, tid, counter)
  return wrk.format("POST", "/api/v1/ratings",
                    {["Content-Type"] = "application/json", ["Cookie"] = "canteen_kiosk=" .. args_cookie}, body)
end
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url, proc, limit=60, headers=None):
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.02)
    sys.exit("server did not come up")


def rss_mb(pid):
    """Resident memory of process `pid` in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakMemory(threading.Thread):
    """Samples a process's resident memory every 0.2 s until stopped: the peak in MB."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.halt = pid, rss_mb(pid), threading.Event()

    def run(self):
        while not self.halt.wait(0.2):
            self.peak = max(self.peak, rss_mb(self.pid))

    def stop(self):
        self.halt.set()
        self.join()
        return self.peak


def wrk(url, clients, seconds, script=None, args=()):
    cmd = ["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", script]
    cmd += [url, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def to_ms(text):
    value, unit = float(re.match(r"[\d.]+", text).group()), re.sub(r"[\d.]", "", text)
    return value * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def parse_wrk(out):
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": to_ms(pct["50"]),
        "p99_ms": to_ms(pct["99"]),
        "requests": requests,
        "errors": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0),
        # which kind: answers that were not 2xx, and connect/read/write/timeout socket errors
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket": dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()))) if sock else {},
    }


def pair_kiosk(db_path):
    """A paired kiosk, as Admin → Kiosks and /kiosk/pair/<code> would leave it: its credential."""
    credential = "bench-" + os.urandom(16).hex()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(" ")
    db = sqlite3.connect(db_path)
    db.execute("INSERT INTO kiosk (name, location, device_hash, paired_at, created_at, card_reader) "
               "VALUES (?, '', ?, ?, ?, 0)", ("bench-exit", hashlib.sha256(credential.encode()).hexdigest(), now, now))
    db.commit()
    db.close()
    return credential


def manager_token(env, workdir):
    """An API token with the manager role, as `flask create-token` issues it."""
    out = subprocess.run([sys.executable, "-m", "flask", "--app", str(ROOT / "app.py"), "create-token", "bench",
                          "--role", "manager"], env=env, cwd=workdir, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def save_logs(base, token, unit, cook, count, pause=0.1):
    """Save `count` storage readings one after another: latencies in ms."""
    latencies = []
    for i in range(count):
        body = json.dumps({"unit": unit, "temperature": 2 + (i % 40) / 10, "off_floor_cm": 15, "off_wall_cm": 10,
                           "labels_ok": True, "fifo_ok": True, "raw_cooked_separated": True,
                           "expired_found": 0, "inspected_by": cook}).encode()
        request = urllib.request.Request(base + "/api/v1/safety/storage", data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status == 201, r.status
        latencies.append(1000 * (time.perf_counter() - started))
        time.sleep(pause)
    return latencies


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def back_office(base, env, workdir, db_path, script, dishes, cookie, clients, seconds):
    """Save latency p50/p99 (ms) of a manager's logs alone and while `clients` vote."""
    token = manager_token(env, workdir)
    db = sqlite3.connect(db_path)
    unit = db.execute("SELECT id FROM storage_unit ORDER BY id LIMIT 1").fetchone()[0]
    cook = db.execute("SELECT id FROM staff ORDER BY id LIMIT 1").fetchone()[0]
    db.close()
    count = max(20, seconds * 5)
    alone = save_logs(base, token, unit, cook, count)
    votes = subprocess.Popen(["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds + 2}s", "--latency",
                              "--timeout", "5s", "-s", str(script), base + "/", f"o{clients}", dishes, cookie],
                             stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    loaded = save_logs(base, token, unit, cook, count)
    voting = parse_wrk(votes.communicate()[0])
    return {"alone_p50": percentile(alone, 0.5), "alone_p99": percentile(alone, 0.99),
            "loaded_p50": percentile(loaded, 0.5), "loaded_p99": percentile(loaded, 0.99),
            "saves": count, "votes": voting}


def app_default_threads():
    out = subprocess.run([sys.executable, "-c", "from canteen.config import DEFAULTS; print(DEFAULTS['THREADS'])"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return int(out.stdout)


def start(args, env, workdir, url):
    proc = subprocess.Popen(args, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, wait_until_up(url, proc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--threads", type=int, help="waitress threads (default: the app's)")
    parser.add_argument("--no-back-office", action="store_true", help="skip the manager's saves under load")
    parser.add_argument("--json", help="also write the numbers to this file")
    opts = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench needs wrk: apt-get install -y wrk")

    # the baseline runs with the app's own number of threads (CANTEEN_THREADS or its default)
    threads = opts.threads or int(os.environ.get("CANTEEN_THREADS") or app_default_threads())
    workdir = Path(tempfile.mkdtemp(prefix="canteen-bench-"))
    port, bare_port = free_port(), free_port()
    env = dict(os.environ, CANTEEN_INSTANCE_PATH=str(workdir), CANTEEN_PORT=str(port), CANTEEN_DEMO="1")
    if opts.threads:
        env["CANTEEN_THREADS"] = str(opts.threads)
    base, bare = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
    spawned = time.monotonic()
    proc, startup = start([sys.executable, str(ROOT / "app.py")], env, workdir, base + "/kiosk")
    bare_proc, _ = start([sys.executable, str(ROOT / "bench" / "bare_insert.py"), str(bare_port),
                          str(workdir / "bare.db"), str(threads)], dict(os.environ), workdir, bare + "/up")
    results = {"startup_s": startup, "rows": [], "threads": threads}
    try:
        print(f"first page served {startup:.2f} s after `python app.py` was started "
              f"({time.monotonic() - spawned:.2f} s wall); waitress threads: {threads}, both servers")
        with urllib.request.urlopen(base + "/api/v1/menu/current") as r:
            dishes = ",".join(str(d["id"]) for d in json.load(r)["dishes"])
        cookie = pair_kiosk(workdir / "canteen.db")
        db = sqlite3.connect(workdir / "canteen.db")
        before = db.execute("SELECT count(*) FROM rating").fetchone()[0]
        script = workdir / "vote.lua"
        script.write_text(VOTE_SCRIPT)
        results["idle_mb"], results["bare_idle_mb"] = rss_mb(proc.pid), rss_mb(bare_proc.pid)
        acknowledged = 0
        print(f"{'clients':>7} {'bare/s':>7} {'p99':>6} {'votes/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'p99 ×':>6} {'errors':>6} {'static/s':>9}")
        for clients in opts.clients:
            peak, bare_peak = PeakMemory(proc.pid), PeakMemory(bare_proc.pid)
            peak.start()
            bare_peak.start()
            floor = wrk(bare + "/", clients, opts.seconds, str(script), (f"b{clients}", dishes))
            static = wrk(base + "/static/favicon.svg", clients, opts.seconds)
            votes = wrk(base + "/", clients, opts.seconds, str(script), (f"c{clients}", dishes, cookie))
            results["loaded_mb"], results["bare_loaded_mb"] = peak.stop(), bare_peak.stop()
            acknowledged += votes["requests"] - votes["errors"]
            results["rows"].append({"clients": clients, "bare": floor, "votes": votes, "static": static})
            print(f"{clients:>7} {floor['rps']:>7.0f} {floor['p99_ms']:>6.1f} {votes['rps']:>8.0f} "
                  f"{votes['rps'] / floor['rps']:>6.2f} {votes['p50_ms']:>7.1f} {votes['p99_ms']:>7.1f} "
                  f"{votes['p99_ms'] / floor['p99_ms']:>6.2f} {votes['errors'] + floor['errors']:>6} "  # canteen + baseline
                  f"{static['rps']:>9.0f}")
        for row in results["rows"]:
            for side in ("votes", "bare"):
                if row[side]["errors"]:
                    print(f"  {row['clients']} clients, {'canteen' if side == 'votes' else 'bare insert'}: "
                          f"{row[side]['non2xx']} non-2xx answers, socket errors {row[side]['socket']}")
        print(f"resident memory of python app.py: idle {results['idle_mb']:.0f} MB, "
              f"peak under {opts.clients[-1]} clients {results['loaded_mb']:.0f} MB "
              f"(bare server: {results['bare_idle_mb']:.0f} / {results['bare_loaded_mb']:.0f} MB)")
        if not opts.no_back_office:
            office = back_office(base, env, workdir, workdir / "canteen.db", script, dishes, cookie,
                                 opts.clients[-1], opts.seconds)
            acknowledged += office["votes"]["requests"] - office["votes"]["errors"]
            results["back_office"] = office
            print(f"manager's log saves ({office['saves']} each): alone p50 {office['alone_p50']:.1f} ms, "
                  f"p99 {office['alone_p99']:.1f} ms; while {opts.clients[-1]} clients vote "
                  f"({office['votes']['rps']:.0f} votes/s) p50 {office['loaded_p50']:.1f} ms, "
                  f"p99 {office['loaded_p99']:.1f} ms ({office['loaded_p99'] / office['alone_p99']:.1f}× p99)")
        stored = db.execute("SELECT count(*) FROM rating").fetchone()[0] - before
        results["stored"], results["acknowledged"] = stored, acknowledged
        print(f"votes stored: {stored}; answered 2xx: {acknowledged} "
              f"({'all acknowledged votes are on disk' if stored >= acknowledged else 'VOTES MISSING'})")
        db.close()
    finally:
        for p in (proc, bare_proc):
            p.terminate()
            p.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    if opts.json:
        Path(opts.json).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
