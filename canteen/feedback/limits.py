"""Rate limits on the public endpoints: per client address and per QR token.

Counters live in this process (fixed one-minute windows): `python app.py` is one process.
With several server processes each enforces its own share, which only makes them looser.
"""
import threading
import time

from flask import current_app, jsonify, render_template, request

from ..access import current_kiosk


class Counter:
    """Requests per key in fixed one-minute windows."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def hit(self, key, limit, now=None):
        """Count one request for `key`; seconds to wait if over `limit` per minute, else 0."""
        if not limit:
            return 0
        now = now or time.time()
        window = int(now // 60)
        with self.lock:
            if len(self.counts) > 50_000:  # old windows: forget them
                for k in [k for k in self.counts if k[1] < window]:
                    del self.counts[k]
            count = self.counts.get((key, window), 0) + 1
            self.counts[(key, window)] = count
        return 0 if count <= limit else int(60 - now % 60) + 1


def hit(key, limit):
    counter = current_app.extensions.setdefault("canteen_rate_limits", Counter())
    return counter.hit(key, limit)


def over_limit(token_key=None):
    """Seconds to wait, or 0. Paired kiosks (a known device credential) are exempt."""
    if current_kiosk() is not None:
        return 0
    config = current_app.config
    wait = hit(("addr", request.remote_addr), config["RATE_LIMIT_ADDRESS_PER_MINUTE"])
    if token_key and not wait:
        wait = hit(("token", token_key), config["RATE_LIMIT_TOKEN_PER_MINUTE"])
    return wait


def too_many(wait, as_json=True):
    if as_json:
        response = jsonify(error=f"Too many requests; try again in {wait} seconds.", field=None)
    else:
        response = current_app.make_response(render_template(
            "error.html", code=429, name=None, wait=wait))
    response.status_code = 429
    response.headers["Retry-After"] = str(wait)
    return response


def check_vote(source):
    key = None
    if source is not None:
        key = f"card:{source.card_id}" if source.kind == "card" else f"kiosk:{source.kiosk}"
    wait = over_limit(key)
    return too_many(wait) if wait else None
