"""A fuzz run over every HTML form: found by crawling every page the app has as a user with
every role, then sent oversized, malformed, mis-encoded and hostile values (and uploads)
WITH a valid CSRF token, so the view's own parsing answers. Every answer must be a 4xx or the
form again with its messages — never a 5xx — and a refused form stores nothing: no row, no
audit entry. The chain still verifies at the end, and every page still renders what was
accepted. Bounded: a fixed seed and a fixed number of requests per form."""
import gc
import io
import random
import re
import warnings
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from canteen.audit import AuditEntry
from canteen.feedback.models import Rating
from canteen.models import database
from peewee import fn
from canteen.safety.schema import KINDS
from canteen.safety.standing import ROUNDS
from canteen.safety.registers import REGISTERS as REGISTER_FIELDS

from .conftest import csrf_token, kiosk_client, make_user, signed_in
from .test_access import SAMPLE_ARGS, decoys
from .test_safety import in_db, kitchen, valid_entries  # noqa: F401

# Tables a refused request may still touch: failed sign-ins are counted on purpose, sessions
# note when they were last seen.
NOT_STORED = {"login_attempt", "user_session"}

HOSTILE = [
    "x" * 70_000,                                     # oversized
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
    "=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3",   # formula injection
    "9" * 400, "1e309", "-1e309", "NaN", "Infinity", "-Infinity", "-1", "0", "2147483648",
    "-9223372036854775809", "1.5", "0x1F", "１２", "٣",
    "a\x00b", "\x00", "\r\n\t", "\u202eevil", "\ufeff", "🥟" * 50,
    "2026-02-30", "9999-12-31T23:59", "0001-01-01", "2026-11-26T25:61", "today",
    "", " ", "true", "on", "../../etc/passwd", "%s%n", "' OR 1=1 --",
]
UPLOADS = [
    ("garbage.jpg", b"\x00\x01not an image" * 10, "image/jpeg"),
    ("script.jpg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/jpeg"),
    ("truncated.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    ("empty.jpg", b"", "image/jpeg"),
    ("big.jpg", b"\xff\xd8\xff" + b"\x00" * (6 * 1024 * 1024), "image/jpeg"),   # over PHOTO_MAX_BYTES
    ("../../evil.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"),
]
MIS_ENCODED = [b"%FF%FE%FD", b"\xff\xfe\xfd", b"%C0%AF", b"%ED%A0%80", b"%00%00", b"\xc3\x28", b"%"]
SEED = 17
DEEP_PER_FORM = 8  # single-field mutations per form
BROAD_PER_FORM = 6  # every field at once, each time another hostile value


class Forms(HTMLParser):
    """Every <form method=post> on a page: its action and its fields' default values."""

    def __init__(self, page_url):
        super().__init__()
        self.page_url, self.forms, self._form, self._select, self._textarea = page_url, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": a.get("action") or self.page_url, "fields": MultiDict(), "files": [],
                          "names": [], "multipart": "multipart" in (a.get("enctype") or "")}
            self.forms.append(self._form)
        if self._form is None or "name" not in a and tag != "option":
            return
        name = a.get("name")
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                self._form["files"].append(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].add(name, a.get("value", "on"))
            elif kind not in ("submit", "button", "image", "reset"):
                self._form["fields"].add(name, a.get("value", ""))
            if kind not in ("submit", "button", "image", "reset", "hidden"):
                self._form["names"].append(name)
            elif kind == "hidden" and name != "csrf_token":
                self._form["names"].append(name)
        elif tag == "select":
            self._select = {"name": name, "first": None, "chosen": None}
            self._form["names"].append(name)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None and value:
                self._select["first"] = value
            if "selected" in a:
                self._select["chosen"] = value
        elif tag == "textarea":
            self._textarea = name
            self._form["fields"].add(name, "")
            self._form["names"].append(name)

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form["fields"][self._textarea] = self._form["fields"][self._textarea] + data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None and self._form is not None:
            value = self._select["chosen"] if self._select["chosen"] is not None else self._select["first"]
            if value is not None:
                self._form["fields"].add(self._select["name"], value)
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None


def pages(app):
    """Every GET page with its sample arguments, each log kind, register and round area."""
    out = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static")) or rule.endpoint == "static":
            continue
        args = {"kind_name": sorted(KINDS), "name": sorted(REGISTER_FIELDS), "area_name": sorted(ROUNDS.areas)}
        urls = [rule.rule]
        for arg in rule.arguments:
            values = args.get(arg, [SAMPLE_ARGS[arg]])
            urls = [re.sub(r"<(?:[^>]*:)?%s>" % arg, str(v), u) for u in urls for v in values]
        out.update(urls)
    return sorted(out)


def counts():
    """Rows in every table but the ones a refused request may touch, in one query."""
    tables = sorted(set(database.get_tables()) - NOT_STORED)
    sql = " UNION ALL ".join(f'SELECT \'{t}\', COUNT(*) FROM "{t}"' for t in tables)
    return dict(database.execute_sql(sql).fetchall())


@pytest.fixture
def world(app, kitchen):  # noqa: F811
    """Decoys at id 1 (so revoking or editing a sample id spares the fuzzer), one of
    everything a form acts on: a failed reading with its corrective action, a comment."""
    with app.app_context(), database.connection_context():
        decoys()
        make_user("all", "admin", "manager", "union")
    client = signed_in(app, "all")
    warm = client.post("/api/v1/safety/storage", json=dict(valid_entries(kitchen)["storage"], temperature=9.5))
    assert warm.status_code == 201 and warm.get_json()["verdict"] == "fail"
    vote = kiosk_client(app).post("/api/v1/ratings", json={"dish_id": kitchen["dish"], "score": 2,
                                                           "client_id": "fuzz-vote-1", "channel": "kiosk",
                                                           "comment": "太咸"})
    assert vote.status_code == 201
    return client


def refused(response):
    """A refusal (4xx), or the form again with its messages beside the fields."""
    if 400 <= response.status_code < 500:
        return True
    page = response.get_data(as_text=True) if response.status_code == 200 else ""
    return 'class="error' in page or "has-error" in page or 'aria-invalid="true"' in page


@pytest.mark.timeout(300)
@pytest.mark.filterwarnings("ignore::ResourceWarning")  # werkzeug's test client leaves big bodies' temp files open
def test_every_form_survives_hostile_input(app, world, kitchen):  # noqa: F811
    client = world
    rng = random.Random(SEED)
    forms, seen = [], set()
    for url in pages(app):
        response = client.get(url)
        assert response.status_code < 500, url
        if response.status_code != 200 or not response.mimetype == "text/html":
            response.close()
            continue
        parser = Forms(url)
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            action = urlsplit(form["action"]).path
            key = (action, tuple(sorted(set(form["names"]))))
            if action in ("/logout",) or key in seen:
                continue  # signing out would end the run's session
            seen.add(key)
            kind = re.match(r"/safety/(\w+)/new$", action)
            if kind and kind.group(1) in KINDS:  # start from an entry that would be accepted
                for name, value in valid_entries(kitchen)[kind.group(1)].items():
                    form["fields"][name] = {True: "y", False: "n"}.get(value, str(value))
                    if name not in form["names"]:
                        form["names"].append(name)
            forms.append(form)
    actions = {urlsplit(f["action"]).path for f in forms}
    assert len(forms) >= 25 and "/kitchen/dishes/new" in actions and "/safety/storage/new" in actions, actions
    assert any(f["files"] for f in forms), "no upload form found"

    failures, sent, refusals = [], 0, 0
    token = csrf_token(client, "/office/")  # one per session, valid for every form

    def send(form, data, files=(), raw=None):
        nonlocal sent, refusals
        with app.app_context(), database.connection_context():
            before, chain = counts(), AuditEntry.select().count()
            chain_top = AuditEntry.select(fn.MAX(AuditEntry.id)).scalar() or 0
        path = urlsplit(form["action"]).path + ("?" + urlsplit(form["action"]).query if urlsplit(form["action"]).query else "")
        if raw is not None:
            response = client.post(path, data=b"csrf_token=" + token.encode() + b"&" + raw,
                                   content_type="application/x-www-form-urlencoded")
        else:
            body = MultiDict(data)
            body["csrf_token"] = token
            for name, (filename, content, mimetype) in files:
                body.add(name, (io.BytesIO(content), filename, mimetype))
            response = client.post(path, data=body, content_type="multipart/form-data" if files else None)
        sent += 1
        status = response.status_code
        if status >= 500:
            failures.append((path, status, dict(data) if raw is None else raw, response.get_data(as_text=True)[-300:]))
        elif refused(response):  # nothing of it may have been stored
            refusals += 1
            with app.app_context(), database.connection_context():
                after, chain_after = counts(), AuditEntry.select().count()
            changed = {t: (before[t], after.get(t)) for t in before
                       if before[t] != after.get(t) and t != "audit_entry"}  # the chain: below
            audited = chain_after - chain
            # a wrong password (sign-in, setting a PIN, switching person) is audited on purpose,
            # with nothing else
            audited -= in_db(app, lambda: AuditEntry.select().where(
                (AuditEntry.id > chain_top) & (AuditEntry.action == "auth.failed")).count())
            if changed or audited:
                failures.append((path, status, "refused but stored", changed, chain, chain_after))
        if response.status_code == 302 and "/login" in response.headers.get("Location", ""):
            failures.append((path, status, "signed out"))
        response.close()

    for form in forms:
        base = form["fields"]
        names = [n for n in dict.fromkeys(form["names"]) if n != "csrf_token"] or ["name"]
        for value in rng.sample(HOSTILE, BROAD_PER_FORM):  # every field at once
            send(form, MultiDict([(n, value) for n in names]))
        for _ in range(DEEP_PER_FORM):  # one field, the others as the page filled them in
            name, value = rng.choice(names), rng.choice(HOSTILE)
            data = MultiDict(base)
            data.setlist(name, [value])
            send(form, data)
        name = rng.choice(names)  # duplicate keys, each order
        for pair in ((base.get(name, ""), rng.choice(HOSTILE)), (rng.choice(HOSTILE), base.get(name, ""))):
            data = MultiDict(base)
            data.setlist(name, list(pair))
            send(form, data)
        for bad in rng.sample(MIS_ENCODED, 2):  # invalid UTF-8, raw and percent-encoded
            send(form, {}, raw=b"&".join(quote(n).encode() + b"=" + bad for n in names))
        for name in form["files"]:
            for upload in UPLOADS:
                send(form, MultiDict(base), files=[(name, upload)])
            with warnings.catch_warnings():  # werkzeug's test client leaves a big body's temp file open
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()
    print(f"form fuzz: {len(forms)} forms, {sent} posts, {refusals} refused")
    gc.collect()
    assert not failures, "\n".join(map(str, failures[:40]))
    assert sent >= 18 * len(forms) and refusals >= sent // 2, (sent, refusals)

    # What was accepted still renders everywhere, and the audit chain still holds.
    for url in pages(app):
        response = client.get(url)
        assert response.status_code < 500, url
        response.close()
    for path in ("/reports/comments?format=csv", "/reports/scoreboard?format=xlsx"):
        assert client.get(path).status_code == 200
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 0, result.output
    assert in_db(app, lambda: Rating.select().count()) == 1
