"""QR codes that lead a phone to the voting page, and the signed tokens they carry.

Two kinds of token, both signed with the app's secret (itsdangerous), so they cannot be made
up or altered:
- a printed table card carries {"c": card id}: long-lived, dead once the card is revoked;
- a kiosk's idle screen shows {"k": kiosk name}, timestamped: it rotates every
  QR_ROTATE_SECONDS and dies after QR_LIVE_MAX_AGE, so a photo posted in a chat group soon
  stops working.
"""
import ipaddress
import re
import socket
import time
from typing import NamedTuple
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from flask import current_app
from itsdangerous import (
    BadSignature,
    SignatureExpired,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

from .models import QrCard


class QrSource(NamedTuple):
    kind: str  # "card" or "kiosk"
    card_id: int = None
    kiosk: str = None
    age: float = 0.0  # seconds since a kiosk token was issued
    place: str = ""  # where the code hangs: the card's location (or label), the kiosk's name
    max_age: float = None


class TokenError(ValueError):
    """reason: "forged", "expired" or "revoked"."""
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _card_signer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="canteen.qr-card")


def _kiosk_signer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="canteen.qr-kiosk")


def card_token(card_id):
    return _card_signer().dumps({"c": card_id})


def kiosk_token(kiosk_name):
    return _kiosk_signer().dumps({"k": kiosk_name})


def read_token(token, grace=1.0):
    """The source a token names; raises TokenError. `grace` stretches a kiosk token's life
    (a miner who opened the page may finish voting a little after the code rotated away)."""

    max_age = current_app.config["QR_LIVE_MAX_AGE"]
    if not isinstance(token, str) or len(token) > 400 or not token.isascii():
        raise TokenError("forged")
    try:
        payload = _card_signer().loads(token)
    except BadSignature:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("c"), int):
        card = QrCard.get_or_none(QrCard.id == payload["c"])
        if card is None or card.revoked_at is not None:
            raise TokenError("revoked")
        return QrSource("card", card_id=card.id, place=(card.location or card.label)[:80])
    try:
        payload, issued = _kiosk_signer().loads(token, max_age=max_age * grace, return_timestamp=True)
    except SignatureExpired:
        raise TokenError("expired") from None
    except BadSignature:
        raise TokenError("forged") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("k"), str):
        raise TokenError("forged")
    return QrSource("kiosk", kiosk=payload["k"], age=max(0.0, time.time() - issued.timestamp()),
                    max_age=max_age)


def svg(data, css_class="qr", attrs=""):
    """The QR code for `data` as an SVG element (no Pillow, crisp at any size); `attrs` adds
    attributes, e.g. x/y/width/height when it is nested in a larger SVG."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    text = image.to_string(encoding="unicode")
    # drop the fixed size in mm (CSS or `attrs` size it), then label it for assistive tools
    for attr in ("width", "height"):
        text = _strip_attr(text, attr)
    return text.replace("<svg ", f'<svg class="{css_class}" role="img" aria-label="QR" {attrs} ', 1)


def _strip_attr(text, attr):
    head, sep, rest = text.partition(">")
    head = re.sub(rf'\s{attr}="[^"]*"', "", head, count=1)
    return head + sep + rest


def phone_reach_problem(public_url):
    """Why phones cannot open QR codes built on `public_url` (CANTEEN_PUBLIC_URL), or None.

    "unset": the codes carry whatever address a page was opened with; "invalid": not an
    http(s) address with a host; "loopback": localhost, 127.0.0.0/8, ::1 or 0.0.0.0, which
    only the server itself reaches.
    """
    if not public_url or not public_url.strip():
        return "unset"
    try:
        parts = urlsplit(public_url.strip())
        host = parts.hostname
        port = parts.port  # raises ValueError for a port that is not a number or out of range
    except ValueError:
        return "invalid"
    if parts.scheme not in ("http", "https") or not host or port == 0:
        return "invalid"
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:  # 127.1, 2130706433, 0x7f000001, 0: what a browser reads as an IPv4 address
            address = ipaddress.ip_address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None  # a name: the intranet's DNS decides
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        return "loopback"
    return None
