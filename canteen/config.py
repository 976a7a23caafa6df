"""Configuration: defaults here, overridden by CANTEEN_* environment variables.

`flask.Config.from_prefixed_env` parses values as JSON, so CANTEEN_DEMO=0 arrives as an int
and CANTEEN_KIOSK_NAME=12 as a number; `coerce` turns every known key back into the type of
its default so that the rest of the code can trust it.
"""
import os
import re
import secrets

TAG = re.compile(r"^[a-z0-9_]{1,32}$")

DEFAULTS = {
    # None means "sqlite:///<instance>/canteen.db".
    "DATABASE_URL": None,
    # Most pooled connections one process keeps (one per server thread is enough).
    "DATABASE_POOL_SIZE": 32,
    # SQLite: the most pages (4 KiB each) the database may grow to; at the cap writes get the
    # same 503 as a full disk (PRAGMA max_page_count). 0: as large as the disk allows.
    "SQLITE_MAX_PAGE_COUNT": 0,
    # PostgreSQL: the longest a request waits for the server to answer (a connect, a query, a
    # commit) before it gets a 503; a frozen server otherwise holds every thread for ever.
    # Above the slowest legitimate query (reports read rollups: well under a second); 0: no bound.
    "DB_WAIT_SECONDS": 30.0,
    "HOST": "127.0.0.1",
    "PORT": 5000,
    # waitress worker threads; measured in bench/load.py (see README): concurrent votes share a
    # commit (canteen.db.grouped_write), and a thread waiting for its group's fsync takes no
    # new request, so 16 kept 64 clients near the bare insert's p99 where 8 did not.
    "THREADS": 16,
    # Connections open at once (kiosks, phones, the office); more wait in the backlog.
    "CONNECTION_LIMIT": 512,
    # An idle keep-alive connection is closed after this many seconds of silence, and a request
    # still arriving after REQUEST_READ_SECONDS (a client trickling bytes) is cut off.
    "CHANNEL_TIMEOUT": 30,
    "REQUEST_READ_SECONDS": 30,
    # Request line plus headers (cookies included).
    "MAX_REQUEST_HEADER_BYTES": 32 * 1024,
    "TIMEZONE": "Asia/Shanghai",
    # name=HH:MM-HH:MM, comma separated; a window may cross midnight (the night-shift meal).
    "MEALS": "breakfast=06:30-08:30,lunch=11:00-13:00,dinner=17:00-19:00,night=23:00-01:00",
    # Shifts for the union's reports: a vote belongs to the shift whose window holds the time
    # it was cast (set the windows to when each shift's miners eat).
    "SHIFTS": "early=08:00-16:00,middle=16:00-24:00,night=00:00-08:00",
    # Quick reason chips offered after the face; their labels live in canteen/vocabulary.py.
    "REASON_TAGS": "too_salty,too_bland,too_oily,cold,small_portion,too_expensive,too_spicy,tasty,want_again",
    # Recorded on ratings from a kiosk that does not name itself (device pairing comes later).
    "KIOSK_NAME": "canteen-exit",
    # Seed a demo canteen into an empty database on start.
    "DEMO": True,
    # A dish with a trial start date counts as new for this many days unless it has an end.
    "TRIAL_DAYS": 28,
    # Trial verdict rules (canteen/reports/scoring.py TrialRules): least votes, keep when the good
    # share's Wilson low reaches KEEP_LOW %, drop when its Wilson high stays under DROP_HIGH %.
    "TRIAL_MIN_VOTES": 30,
    "TRIAL_KEEP_LOW_PERCENT": 60,
    "TRIAL_DROP_HIGH_PERCENT": 40,
    # The kiosk's "you asked, we changed" shows decisions and changes of this many days.
    "ANNOUNCE_DAYS": 30,
    # Each process keeps the kiosk's "you asked, we changed" this long at most (written answers,
    # decisions and changes are seen at once; new votes within this time); 0 computes it each time.
    "ANNOUNCE_CACHE_SECONDS": 60,
    # A representatives' suggestion still unanswered this many days after it was recorded is
    # overdue: the union's tile counts it and the manager gets one alert.
    "SUGGESTION_ANSWER_DAYS": 14,
    # Kiosk timings, in seconds. The face tap stores the vote; the screen that shows what was
    # recorded (with Change and the reason chips) returns to the dishes after THANKS seconds
    # without a touch (with the ghost-tap guard: the next miner votes within 2 s of the face
    # tap), or REASONS seconds after the last chip; a half vote after IDLE.
    "KIOSK_IDLE_SECONDS": 20,
    "KIOSK_THANKS_SECONDS": 1.5,
    "KIOSK_REASONS_SECONDS": 3.0,
    # A touch this soon after the screen changed is a ghost of the last one (a gloved double
    # tap): ignored, so that it never lands on a face or chip nobody chose.
    "KIOSK_GHOST_TAP_MS": 400,
    # Reasons offered after a good face (4-5); the other REASON_TAGS follow a poor one (1-3).
    "PRAISE_TAGS": "tasty,want_again",
    # A vote may get its reasons or be withdrawn ("Change") from its own device this long.
    "VOTE_CHANGE_SECONDS": 300,
    # Phone ids (the canteen_phone cookie) the QR page hands out per address and minute.
    "PHONE_COOKIES_PER_MINUTE": 20,
    "DEFAULT_LOCALE": "zh_CN",
    # Back office: a session lapses after this long without a request, and this long after
    # signing in whatever happens (both checked on the server).
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,
    # Quick switch on a shared tablet: the person switched in acts until this long without a
    # request (then the device's own sign-in is back).
    "SWITCH_IDLE_MINUTES": 5,
    # Failed sign-ins allowed per 15 minutes: for one account from one client address, and from
    # one address in all (a guesser elsewhere never locks the owner out).
    "LOGIN_LIMIT_ACCOUNT": 5,
    "LOGIN_LIMIT_ADDRESS": 20,
    # Cookies always Secure (else: Secure whenever the request came over HTTPS).
    "SESSION_COOKIE_SECURE": False,
    # Behind a reverse proxy: trust one X-Forwarded-For/-Proto hop, from TRUSTED_PROXY only when
    # waitress serves (`python app.py`); keep CANTEEN_HOST on loopback so nothing else reaches it.
    "PROXY_FIX": False,
    "TRUSTED_PROXY": "127.0.0.1",
    "PHOTO_MAX_BYTES": 5 * 1024 * 1024,
    # Shown on printed cards and the phone page.
    "CANTEEN_NAME": "职工食堂",
    # Base of the URLs in QR codes (what phones can reach), e.g. http://canteen.mine.local:5000;
    # empty: the address the kiosk itself uses.
    "PUBLIC_URL": "",
    # A kiosk's live QR changes this often and dies after QR_LIVE_MAX_AGE (seconds).
    "QR_ROTATE_SECONDS": 300,
    "QR_LIVE_MAX_AGE": 900,
    # One vote per person per dish per "day" (service day) or per "meal".
    "ONE_VOTE_PER": "day",
    # The same face for the same dish on one kiosk within this many seconds counts once.
    "KIOSK_DEBOUNCE_SECONDS": 1,
    # More votes than this from one device within a minute are flagged as a burst.
    "BURST_PER_MINUTE_KIOSK": 30,
    "BURST_PER_MINUTE_PHONE": 6,
    # Votes later than this after their meal ended are flagged.
    "LATE_VOTE_HOURS": 3,
    # An offline kiosk may deliver votes up to this many days old.
    "REPLAY_MAX_DAYS": 7,
    # Requests per minute on the public vote endpoints, per client address and per QR token
    # (paired kiosks are exempt); 0 turns a limit off.
    "RATE_LIMIT_ADDRESS_PER_MINUTE": 600,
    "RATE_LIMIT_TOKEN_PER_MINUTE": 120,
    # Where the counters live: empty means instance/ratelimits.db, shared by every process of this
    # installation; redis://host:6379 shares them between machines (Flask-Limiter's storage URIs).
    "RATELIMIT_STORAGE_URI": "",
    # A canteen's own checklist changes (tighter thresholds), e.g. instance/checklist-override.toml.
    "CHECKLIST_OVERRIDE": "",
    # The audit chain's HMAC key; empty: instance/audit_key (made once, mode 0600). Keep it
    # out of the database's reach (and out of its backups).
    "AUDIT_KEY": "",
    # Corrective actions for critical / major findings are due after this many hours.
    "ACTION_DUE_HOURS_CRITICAL": 24,
    "ACTION_DUE_HOURS_MAJOR": 72,
    # Scheduled work (APScheduler): off with 0 in `python app.py` (run `flask scheduler` instead).
    "SCHEDULER": True,
    # A job claim still "running" after this long is taken over by the next scheduler (a
    # scheduler killed on this machine is noticed at once: its process is gone).
    "JOB_LEASE_MINUTES": 120,
    "MEAL_LOG_GRACE_MINUTES": 60,
    "EXPIRY_HORIZON_DAYS": 30,
    "BACKUP_DAILY": 14,
    "BACKUP_WEEKLY": 8,
    # A failed backup is tried again at the backup job's next hourly run the same day, until
    # this many attempts in all (a full disk freed in the morning still gets that day's copy).
    "BACKUP_ATTEMPTS": 3,
    # Where backups go; empty: instance/backups. Another disk than the database's is safer.
    "BACKUP_DIR": "",
    # Outbound delivery of alerts and digests: both off unless set (the intranet may have neither).
    "WEBHOOK_URL": "",
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "SMTP_FROM": "canteen@localhost",
    "SMTP_TO": "",
    "DELIVERY_MAX_ATTEMPTS": 6,
    # How long a webhook or SMTP server may take to answer. A send that got no answer in time
    # may have arrived: it is marked "unknown" and raised, never resent by itself.
    "DELIVERY_TIMEOUT_SECONDS": 10.0,
    # Reports: a dish's fair score leans on the canteen mean as if it had this many votes;
    # fewer votes than REPORT_MIN_VOTES give "not enough votes yet"; groups under
    # REPORT_MIN_GROUP voters are not shown at all.
    "REPORT_PRIOR_WEIGHT": 10,
    "REPORT_MIN_VOTES": 10,
    "REPORT_MIN_GROUP": 5,
    # Unpaired kiosks: is a staff-card reader attached? (paired kiosks: set per kiosk)
    "KIOSK_CARD_READER": False,
    # Whole-request cap; the JSON API applies its own much smaller one.
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    "API_MAX_BODY_BYTES": 16 * 1024,
    # While the database cannot take writes (disk full, PostgreSQL down) requests get a 503
    # telling clients to come back after this many seconds (kiosks retry from their outbox).
    "RETRY_AFTER_SECONDS": 5,
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


def _as_bool(key, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"CANTEEN_{key} must be 1/0 or true/false, not {value!r}")


def _as_int(key, value):
    if isinstance(value, bool):
        raise ConfigError(f"CANTEEN_{key} must be a whole number, not {value!r}")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"CANTEEN_{key} must be a whole number, not {value!r}") from None


def _as_float(key, value):
    if isinstance(value, bool):
        raise ConfigError(f"CANTEEN_{key} must be a number, not {value!r}")
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ConfigError(f"CANTEEN_{key} must be a number, not {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ConfigError(f"CANTEEN_{key} must be a number, not {value!r}")
    return number


def coerce(config):
    """Give every known key the type of its default; raise ConfigError naming a bad one."""
    for key, default in DEFAULTS.items():
        value = config.get(key, default)
        if value is None:
            continue
        if isinstance(default, bool):
            config[key] = _as_bool(key, value)
        elif isinstance(default, (int, float)):
            config[key] = (_as_int if isinstance(default, int) else _as_float)(key, value)
            if config[key] < 0:  # every number here is a count, a size or a time: -5 means nothing
                raise ConfigError(f"CANTEEN_{key} cannot be negative, not {value!r}")
            if key.endswith("PORT") and config[key] > 65535:  # the socket would take it modulo 65536
                raise ConfigError(f"CANTEEN_{key} must be a port number up to 65535, not {value!r}")
        elif isinstance(default, str) or default is None:
            config[key] = str(value)
    return config


def reason_tags(spec):
    """CANTEEN_REASON_TAGS as a tuple of codes, each a-z, 0-9 and _ (they are stored in votes)."""
    tags = [t.strip() for t in spec.split(",") if t.strip()]
    bad = [t for t in tags if not TAG.match(t)]
    if bad:
        raise ConfigError(f"CANTEEN_REASON_TAGS: {bad[0]!r} is not a tag (a-z, 0-9, _)")
    return tuple(dict.fromkeys(tags))


MIN_SECRET = 16


def instance_secret(path):
    """A random key made once per installation and kept in instance/, never a constant. The
    file is created exclusively with mode 0600, so it is never readable by others, not even
    for a moment, and two processes starting together cannot both write one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return check_secret(path.read_text().strip(), f"the key in {path}")


def check_secret(secret, where="CANTEEN_SECRET_KEY"):
    """Refuse an empty or short key: anyone could then sign QR tokens and session cookies."""
    if len(secret or "") < MIN_SECRET:
        raise ConfigError(f"{where} is empty or shorter than {MIN_SECRET} characters: sessions and QR codes "
                          "signed with it could be forged. Delete the file (a new random key is made) "
                          "or set a long random CANTEEN_SECRET_KEY.")
    return secret
