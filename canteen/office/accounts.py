"""Who may sign in or send data: staff accounts, kiosk devices and API tokens.

Secrets are never stored: passwords as scrypt hashes (werkzeug), device credentials, pairing
codes and API tokens as SHA-256 of a long random value (a KDF adds nothing to 256 random bits).
"""
import datetime as dt
import functools
import hashlib
import secrets
from pathlib import Path

from flask_babel import gettext as _
from flask_login import UserMixin
from peewee import BooleanField, CharField, DateTimeField, IntegerField
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import prepared
from ..models import BaseModel, database, utcnow

ROLES = ("admin", "manager", "union")
PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed on a tablet
PAIRING_HOURS = 24


def digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class User(UserMixin, BaseModel):
    username = CharField(max_length=40, unique=True)
    display_name = CharField(max_length=80, default="")
    password_hash = CharField(max_length=255)
    roles = CharField(max_length=64, default="")  # comma-separated subset of ROLES
    active = BooleanField(default=True)
    # Bumped when the password changes or the account is disabled: old sessions stop working.
    session_version = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)
    pin_hash = CharField(max_length=255, null=True)  # for the quick switch on a shared tablet

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    @property
    def role_set(self):
        return frozenset(r for r in self.roles.split(",") if r)

    def set_roles(self, roles):
        self.roles = ",".join(r for r in ROLES if r in set(roles))

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)
        self.session_version += 1

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    def set_pin(self, pin):
        """A PIN is hashed like a password (scrypt); None removes it."""
        self.pin_hash = generate_password_hash(pin) if pin else None

    def check_pin(self, pin):
        return bool(self.pin_hash) and check_password_hash(self.pin_hash, pin)

    @classmethod
    def by_username(cls, username):
        return cls.get_or_none(cls.username == username.strip().lower())


class LoginAttempt(BaseModel):
    """Failed sign-ins, for throttling per account and per address."""
    username = CharField(max_length=40, index=True)
    address = CharField(max_length=64, index=True)
    at = DateTimeField(default=utcnow, index=True)


class UserSession(BaseModel):
    """A signed-in browser. The cookie holds a random id whose digest is kept here, so signing
    out, idling past CANTEEN_SESSION_IDLE_MINUTES or CANTEEN_SESSION_MAX_HOURS end it for good."""
    token_hash = CharField(max_length=64, unique=True)
    user_id = IntegerField(index=True)
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)
    # The quick switch: someone else acts within this sign-in for a while (see office/switch.py).
    acting_user_id = IntegerField(null=True)
    acting_version = IntegerField(null=True)  # their session_version: a new password ends it
    acting_since = DateTimeField(null=True)

    @classmethod
    def start(cls, user):
        """A new session for `user`; returns the secret for the cookie."""
        secret = secrets.token_urlsafe(32)
        cls.create(token_hash=digest(secret), user_id=user.id)
        return secret

    @classmethod
    def live(cls, secret, user_id, idle, max_age, now=None):
        """The session for `secret` if it belongs to `user_id` and has neither ended, idled
        longer than `idle` nor lived longer than `max_age`; else None."""
        if not secret or not isinstance(secret, str):
            return None
        now = now or utcnow()
        row = cls.get_or_none((cls.token_hash == digest(secret)) & cls.ended_at.is_null())
        if row is None or row.user_id != user_id:
            return None
        if now - row.last_seen_at > idle or now - row.created_at > max_age:
            cls.end(secret)
            return None
        if (now - row.last_seen_at).total_seconds() > 60:  # written at most once a minute
            cls.update(last_seen_at=now).where(cls.id == row.id).execute()
        return row

    @classmethod
    def end(cls, secret):
        if secret and isinstance(secret, str):
            cls.update(ended_at=utcnow()).where((cls.token_hash == digest(secret))
                                                & cls.ended_at.is_null()).execute()

    @classmethod
    def end_all(cls, user_id, keep=None):
        """End every session of a user (a new password, a disabled account), except `keep`."""
        query = cls.update(ended_at=utcnow()).where((cls.user_id == user_id) & cls.ended_at.is_null())
        if keep:
            query = query.where(cls.token_hash != digest(keep))
        query.execute()


class Kiosk(BaseModel):
    name = CharField(max_length=64, unique=True)
    location = CharField(max_length=80, default="")
    pairing_hash = CharField(max_length=64, null=True, unique=True)
    pairing_expires_at = DateTimeField(null=True)
    device_hash = CharField(max_length=64, null=True, unique=True)
    paired_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    last_seen_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    card_reader = BooleanField(default=False)  # a USB reader types staff card numbers + Enter

    def new_pairing_code(self):
        """A one-time code, valid for PAIRING_HOURS; the old device credential stays until used."""
        code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))
        self.pairing_hash = digest(code)
        self.pairing_expires_at = utcnow() + dt.timedelta(hours=PAIRING_HOURS)
        self.revoked_at = None
        return code

    @classmethod
    def redeem(cls, code):
        """Pair the kiosk holding `code`; returns (kiosk, device credential) or (None, None)."""
        kiosk = cls.get_or_none(cls.pairing_hash == digest(code.strip().upper()))
        if kiosk is None or kiosk.pairing_expires_at < utcnow() or kiosk.revoked_at:
            return None, None
        credential = secrets.token_urlsafe(32)
        kiosk.device_hash = digest(credential)
        kiosk.pairing_hash = kiosk.pairing_expires_at = None
        kiosk.paired_at = kiosk.last_seen_at = utcnow()
        kiosk.save()
        return kiosk, credential

    @classmethod
    def by_credential(cls, credential):
        if not credential:
            return None
        # Every kiosk request asks: SQL built once (canteen.db.prepared), and the row made into
        # a Kiosk directly rather than through peewee's cursor wrappers (a tenth of a vote's time).
        hashed = digest(credential)
        sql = prepared("kiosk.by_credential",
                       lambda h: cls.select().where((cls.device_hash == h) & cls.revoked_at.is_null()), (hashed,))
        row = database.execute_sql(sql, (hashed,)).fetchone()
        if row is None:
            return None
        kiosk = cls(__no_default__=1, **{f.name: f.python_value(v) for f, v in zip(cls._meta.sorted_fields, row)})
        kiosk._dirty.clear()
        return kiosk

    @property
    def status(self):
        if self.revoked_at:
            return "revoked"
        return "paired" if self.device_hash else "waiting"


class ApiToken(BaseModel):
    name = CharField(max_length=64)
    role = CharField(max_length=16)
    token_hash = CharField(max_length=64, unique=True)
    prefix = CharField(max_length=12)  # shown in lists so a token can be recognised
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)

    @classmethod
    def issue(cls, name, role):
        """Create a token; returns (row, secret). The secret is shown once and never stored."""
        secret = "ct_" + secrets.token_urlsafe(32)
        row = cls.create(name=name, role=role, token_hash=digest(secret), prefix=secret[:9])
        return row, secret

    @classmethod
    def lookup(cls, secret):
        """The token for `secret`, revoked or not (the caller tells them apart)."""
        return cls.get_or_none(cls.token_hash == digest(secret))


MIN_PASSWORD = 12
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "common-passwords.txt"


@functools.lru_cache(maxsize=1)
def common_passwords():
    """Passwords that attackers try first (shipped with the package), lower-cased."""
    return frozenset(line.strip().lower() for line in COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))


def validate_new_password(username, password):
    """Why this password will not do for this user, or None."""
    if len(password) < MIN_PASSWORD:
        return _("A password needs at least %(n)d characters.", n=MIN_PASSWORD)
    lowered = password.strip().lower()
    if lowered == username.strip().lower():
        return _("The password must not be the user name.")
    if lowered in common_passwords() or len(set(lowered)) < 4:
        return _("This password is too common or too easy to guess; choose another.")
    return None


PIN_LENGTHS = range(4, 7)


def trivial_pin(pin):
    """Whether a PIN is one that anybody would try first: one digit repeated, a run up or down
    (1234, 987654), two digits alternating (1212), or a PIN from the common list."""
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in zip(digits, digits[1:])}
    if len(steps) == 1 and steps <= {-1, 0, 1}:
        return True
    if len(set(pin)) <= 2 and pin == (pin[:2] * 3)[:len(pin)]:
        return True
    return pin in COMMON_PINS


# Years and dates people pick, and keypad patterns (2580 is the keypad's middle column).
COMMON_PINS = frozenset({"2580", "0852", "1004", "2000", "1122", "1313", "6969", "1984", "1990",
                         "2001", "5683", "4321", "1100", "1010", "2468", "13579", "112233",
                         "121212", "123123", "111222", "520520", "5201314", "147258", "159753",
                         "123321", "654321", "696969", "000000", "888888", "666666"})


def validate_new_pin(pin):
    """Why this PIN will not do, or None."""
    if not pin.isascii() or not pin.isdigit() or len(pin) not in PIN_LENGTHS:
        return _("A PIN has 4 to 6 digits.")
    if trivial_pin(pin):
        return _("This PIN is too easy to guess (like 1234 or 0000); choose another.")
    return None
