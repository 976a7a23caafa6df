"""The 4D rule engine: a log entry and a checklist in, a verdict with its findings out.

Pure Python: no Flask, no database. The caller passes a `context` that can look up register
rows (supplier, storage unit, staff) and a staff member's training topics; the same entry,
checklist and context always give the same verdict.
"""
import datetime as dt
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CHECKLIST_FILE = Path(__file__).with_name("4d.toml")
DS = ("organisation", "responsibility", "training", "execution")
SEVERITIES = ("critical", "major", "minor")
CHECKS = ("is_true", "is_false", "max", "min", "above", "below", "not_in", "on_or_after_day", "ref_date_valid", "differ",
          "matches_ref", "ref_attr_in", "trained", "hours_between_min", "during_meal")
OVERRIDABLE = ("limit", "severity", "enabled", "values")


class ChecklistError(ValueError):
    pass


@dataclass(frozen=True)
class Item:
    id: str
    d: str
    kind: str
    severity: str
    check: str
    field: str
    zh: str
    en: str
    action_zh: str = ""
    action_en: str = ""
    when: dict = None
    limit: float = None
    limit_field: str = None
    other: str = None
    register: str = None
    attribute: str = None
    ref_field: str = None
    values: tuple = ()
    topic: str = None
    enabled: bool = True


@dataclass
class Checklist:
    version: str
    items: list

    def for_kind(self, kind):
        return [i for i in self.items if i.kind == kind and i.enabled]


@dataclass
class Finding:
    item: str
    d: str
    severity: str
    value: object
    limit: object
    message_zh: str
    message_en: str
    action_zh: str
    action_en: str

    def message(self, lang):
        return self.message_en if lang == "en" else self.message_zh

    def action(self, lang):
        return self.action_en if lang == "en" else self.action_zh

    def as_dict(self):
        return dict(self.__dict__)


@dataclass
class Verdict:
    verdict: str  # "pass" | "fail"
    findings: list = field(default_factory=list)
    version: str = ""


def _item(raw, where):
    raw = dict(raw)
    if "values" in raw:
        raw["values"] = tuple(raw["values"])
    try:
        item = Item(**raw)
    except TypeError as e:
        raise ChecklistError(f"{where}: {e}") from None
    if item.d not in DS or item.severity not in SEVERITIES or item.check not in CHECKS:
        raise ChecklistError(f"{where}: item {item.id} has an unknown d, severity or check")
    return item


def load(path=CHECKLIST_FILE, override=None):
    """The checklist, with an optional override file's changes applied. The version names
    both: "2026.1" or "2026.1+<hash of the override>", so a verdict says what judged it."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    items = [_item(i, path) for i in raw["items"]]
    ids = [i.id for i in items]
    if len(ids) != len(set(ids)):
        raise ChecklistError(f"{path}: item ids must be unique")
    version = str(raw["version"])
    if override:
        text = Path(override).read_bytes()
        changes = tomllib.loads(text.decode()).get("items", {})
        by_id = {i.id: i for i in items}
        for item_id, change in changes.items():
            if item_id not in by_id:
                raise ChecklistError(f"{override}: no checklist item {item_id}")
            bad = set(change) - set(OVERRIDABLE)
            if bad:
                raise ChecklistError(f"{override}: {item_id} may only change {', '.join(OVERRIDABLE)}")
            if "severity" in change and change["severity"] not in SEVERITIES:
                raise ChecklistError(f"{override}: {item_id} severity must be one of {', '.join(SEVERITIES)}")
            if "values" in change:
                change = dict(change, values=tuple(change["values"]))
            by_id[item_id] = Item(**{**by_id[item_id].__dict__, **change})
        items = [by_id[i] for i in ids]
        version += "+" + hashlib.sha256(text).hexdigest()[:8]
    return Checklist(version, items)


def _applies(item, values, context):
    for name, rule in (item.when or {}).items():
        base, _dot, attr = name.partition(".")
        value = values.get(base)
        if attr:
            row = context.ref(_register_of(base), value) if value is not None else None
            value = getattr(row, attr, None) if row is not None else None
        if rule == "present":
            if value is None:
                return False
        elif isinstance(rule, dict):
            if value is None or isinstance(value, bool) or not value > rule["above"]:
                return False
        elif value not in rule:
            return False
    return True


def _register_of(field_name):
    return {"unit": "unit", "fridge": "unit", "supplier": "supplier"}.get(field_name, "staff")


def _as_date(value):
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _evaluate(item, values, day, context):
    """(passed, value seen, limit) — passed None when the item cannot be judged (no value)."""
    value = values.get(item.field)
    check = item.check
    if check == "is_true":
        return (None if value is None else value is True), value, True
    if check == "is_false":
        return (None if value is None else value is False), value, False
    if check in ("max", "min", "above", "below"):
        limit = item.limit
        if item.limit_field:
            base = values.get(item.limit_field)
            if base is None:
                return None, value, None
            limit = base + (item.limit or 0)
        if value is None:
            return None, value, limit
        passed = {"max": value <= limit, "min": value >= limit,
                  "above": value > limit, "below": value < limit}[check]
        return passed, value, limit
    if check == "not_in":
        return (None if value is None else value not in item.values), value, list(item.values)
    if check == "on_or_after_day":
        return (None if value is None else _as_date(value) >= day), value, day.isoformat()
    if check == "ref_date_valid":
        row = context.ref(item.register, value) if value is not None else None
        if row is None:
            return None, value, None
        expiry = _as_date(getattr(row, item.attribute, None))
        return (expiry is not None and expiry >= day), (expiry.isoformat() if expiry else None), day.isoformat()
    if check == "differ":
        other = values.get(item.other)
        return (None if value is None or other is None else value != other), value, other
    if check == "matches_ref":
        row = context.ref(item.register, values.get(item.ref_field))
        expected = getattr(row, item.attribute, None) if row is not None else None
        if value is None or expected is None:
            return None, value, expected
        return value == expected, value, expected
    if check == "ref_attr_in":
        row = context.ref(item.register, value) if value is not None else None
        seen = getattr(row, item.attribute, None) if row is not None else None
        return (None if seen is None else seen in item.values), seen, list(item.values)
    if check == "trained":
        if value is None:
            return None, value, item.topic
        topics = context.trainings(value)  # topic codes from the training register
        return item.topic in topics, sorted(topics), item.topic
    if check == "hours_between_min":
        other = values.get(item.other)
        if value is None or other is None:
            return None, value, item.limit
        hours = (dt.datetime.fromisoformat(value) - dt.datetime.fromisoformat(other)).total_seconds() / 3600
        return hours >= item.limit, round(hours, 1), item.limit
    if check == "during_meal":
        meal = values.get(item.other)
        windows = context.meal_windows(day, meal) if value is not None and meal is not None else []
        if not windows:
            return None, value, None
        when = dt.datetime.fromisoformat(value)
        lead = dt.timedelta(hours=item.limit or 0)
        passed = any(start - lead <= when <= end for start, end in windows)
        start, end = windows[0]
        return passed, value, f"{(start - lead).isoformat(sep=' ', timespec='minutes')} – {end:%H:%M}"
    raise ChecklistError(f"unknown check {check}")


def judge(kind, values, day, checklist, context):
    """The verdict on one entry of `kind` made on local `day`: fail if any item fails."""
    findings = []
    for item in checklist.for_kind(kind):
        if not _applies(item, values, context):
            continue
        passed, seen, limit = _evaluate(item, values, day, context)
        if passed is False:
            findings.append(Finding(item.id, item.d, item.severity, seen, limit,
                                    item.zh, item.en, item.action_zh, item.action_en))
    return Verdict("fail" if findings else "pass", findings, checklist.version)


class NoContext:
    """A context with empty registers and no meal times (for tests and dry runs)."""

    def ref(self, register, ident):
        return None

    def meal_windows(self, day, meal):
        return []

    def trainings(self, staff_id):
        return []
