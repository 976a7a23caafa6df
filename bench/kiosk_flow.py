"""Seconds per miner at the kiosk: from a miner's first tap until the dishes accept the next one.

    python bench/kiosk_flow.py [--runs 5] [--think 0.6]

Serves the demo canteen on loopback, drives Debian's Chromium (Playwright, touch events) at
1280×800, and times three flows, each `--runs` times (median reported):
- 2 taps: a dish, a face, then no further touch;
- 2 taps + chips: a dish, a face, two reason chips, then no further touch;
- with Change: a dish, a face, Change, another face, then no further touch.
Between taps the "miner" thinks `--think` seconds (a tired, gloved person; the same in every
flow). The baseline, measured in the same run, is that thinking alone: the ratio says how
much longer than the miner's own taps the kiosk keeps him (and the next miner) waiting.
"The dishes accept the next miner" means the dish grid is shown and past its ghost-tap guard.
Run it against an older checkout with PYTHONPATH=<that checkout> to compare versions; the
script copes with the flow before issue 13 (reasons screen with Done, auto-send after 6 s).
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

sys.path.insert(0, os.environ.get("PYTHONPATH") or str(Path(__file__).resolve().parent.parent))
from canteen import create_app  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def serve():
    instance = tempfile.mkdtemp(prefix="canteen-kiosk-bench-")
    app = create_app({"INSTANCE_PATH": instance, "DATABASE_URL": f"sqlite:///{instance}/bench.db",
                      "DEMO": True, "SECRET_KEY": "bench", "RATE_LIMIT_ADDRESS_PER_MINUTE": 0})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def grid_ready(page):
    """Wait until the dishes are back and a tap on them would count; seconds waited."""
    page.wait_for_function("() => { const k = document.getElementById('kiosk');"
                           " return k && (k.dataset.screen === 'dishes' || !k.dataset.screen)"
                           " && !document.getElementById('screen-dishes').hidden; }", timeout=30000)
    guard = page.evaluate("() => Number(document.getElementById('kiosk').dataset.ghostMs || 0)")
    page.wait_for_timeout(guard)


def tap(page, selector, think):
    page.wait_for_timeout(think * 1000)
    page.locator(selector).first.tap()


def one_miner(page, flow, think):
    start = time.monotonic()
    page.locator(".dish").first.tap()
    tap(page, '.face[data-score="2"]', think)
    if flow == "chips":
        tap(page, ".chip:visible", think)
        tap(page, ".chip:visible >> nth=1", think)
    elif flow == "change":
        if page.locator("#change").count():
            tap(page, "#change", think)
            tap(page, '.face[data-score="4"]', think)
        else:  # before issue 13 there was no Change: the miner had to wait and vote again
            grid_ready(page)
            tap(page, ".dish", think)
            tap(page, '.face[data-score="4"]', think)
    grid_ready(page)
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--think", type=float, default=0.6, help="seconds a miner takes per tap")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    url, server = serve()
    taps = {"two": 1, "chips": 3, "change": 3}  # taps after the first, each after a think
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CANTEEN_CHROMIUM", "/usr/bin/chromium"),
                                    args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
        page = context.new_page()
        page.goto(f"{url}/kiosk?kiosk=bench")
        page.wait_for_selector(".dish")
        for flow, label in (("two", "2 taps"), ("chips", "2 taps + 2 chips"), ("change", "with Change")):
            times = []
            for _ in range(args.runs):
                page.wait_for_timeout(500)
                times.append(one_miner(page, flow, args.think))
            median = statistics.median(times)
            baseline = taps[flow] * args.think
            rows.append((label, median, baseline))
        browser.close()
    server.shutdown()
    print(f"kiosk flow, 1280x800, median of {args.runs}, think {args.think:.1f} s per tap")
    print(f"{'flow':<18} {'s per miner':>11} {'thinking':>9} {'kiosk adds':>10} {'ratio':>6}")
    for label, median, baseline in rows:
        print(f"{label:<18} {median:>11.2f} {baseline:>9.2f} {median - baseline:>10.2f} {median / baseline:>6.2f}")


if __name__ == "__main__":
    main()
