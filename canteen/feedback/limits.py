"""Rate limits on the public endpoints: per client address and per QR token.

The counting is Flask-Limiter's (canteen/ratelimits.py), in a storage every server process
shares; these are the entry points the views call.
"""
from flask import current_app, jsonify, render_template, request

from ..access import current_kiosk
from ..ratelimits import hit


def over_limit(token_key=None):
    """Seconds to wait, or 0. Paired kiosks (a known device credential) are exempt."""
    if current_kiosk() is not None:
        return 0
    config = current_app.config
    wait = hit(f"addr:{request.remote_addr}", config["RATE_LIMIT_ADDRESS_PER_MINUTE"])
    if token_key and not wait:
        wait = hit(f"token:{token_key}", config["RATE_LIMIT_TOKEN_PER_MINUTE"])
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
