"""The food-safety log kinds (logs.toml) and the checks every entry passes before it is stored.

Pure: no Flask, no database. References (supplier, storage unit, staff, dish) are looked up
through a `refs` callable given by the caller: refs(type, id) → the row, or None.
"""
import datetime as dt
import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..bilingual import Bilingual

SCHEMA_FILE = Path(__file__).with_name("logs.toml")
REF_TYPES = ("supplier", "unit", "staff", "dish")
MEALS = ("breakfast", "lunch", "dinner", "night")
PHOTO_NAME = re.compile(r"^[0-9a-f]{32}\.jpg$")
TRUE = {"true", "1", "yes", "on", "y"}
FALSE = {"false", "0", "no", "off", "n", ""}


@dataclass
class Field(Bilingual):
    name: str
    type: str
    zh: str
    en: str
    required: bool = False
    required_if: object = None  # a rule or a list of rules; each may carry `unless`
    choices: list = None  # [(value, zh, en)]
    min: float = None
    max: float = None
    unit: str = ""
    past: bool = False
    after: str = None
    normal: object = None  # a routine entry's value: the "all normal" preset, the shift check's default

    def choice_label(self, value, lang):
        for code, zh, en in self.choices or ():
            if code == value:
                return en if lang == "en" else zh
        return value


@dataclass
class Kind(Bilingual):
    name: str
    zh: str
    en: str
    fields: list = field(default_factory=list)

    def field(self, name):
        return next(f for f in self.fields if f.name == name)


def load(path=SCHEMA_FILE):
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    choices = raw.get("choices", {})
    kinds = {}
    for name, spec in raw["kinds"].items():
        fields = []
        for f in spec["fields"]:
            f = dict(f)
            if isinstance(f.get("choices"), str):
                f["choices"] = [tuple(c) for c in choices[f["choices"]]]
            fields.append(Field(**f))
        kinds[name] = Kind(name, spec["zh"], spec["en"], fields)
    return kinds


KINDS = load()


# What an entry can get wrong; the views pass translated versions of the same templates.
MESSAGES = {
    "unknown": "{label} is not a field of this log",
    "text": "{label}: must be text",
    "too_long": "{label}: at most {n} characters",
    "choice": "{label}: choose one of {options}",
    "integer": "{label}: must be a whole number",
    "number": "{label}: must be a number",
    "range": "{label}: must be between {min} and {max} {unit}",
    "bool": "{label}: must be yes or no",
    "date": "{label}: must be a date like 2026-11-26",
    "datetime": "{label}: must be a date and time like 2026-11-26T08:30",
    "ref": "{label}: there is no such entry in the register",
    "required": "{label} is required",
    "future": "{label} cannot be in the future",
    "date_range": "{label}: the year must be between {min} and {max}",
    "before": "{label} cannot be before {other}",
}


def english(key, **params):
    return MESSAGES[key].format(**params).replace("  ", " ").strip()


class Problem(ValueError):
    def __init__(self, key, **params):
        super().__init__(key)
        self.key, self.params = key, params


class EntryErrors(ValueError):
    """{field name: message}; the first one also as the exception's text."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__(next(iter(errors.values())))


MIN_YEAR, MAX_YEAR = 2000, 2100  # a canteen's log: anything outside is a typing mistake
MAX_ID = 2**31 - 1


def _clean_text(value):
    """One line of printable text: control characters and lone surrogates removed."""
    text = "".join(c for c in value if unicodedata.category(c)[0] != "C" or c == " ")
    return " ".join(text.split())


def _in_years(when):
    if not MIN_YEAR <= when.year <= MAX_YEAR:
        raise Problem("date_range", min=MIN_YEAR, max=MAX_YEAR)
    return when


def _number(value, integer):
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        number = value
    else:
        number = float(str(value).strip().replace("，", ".").replace(",", "."))
    if not math.isfinite(number):
        raise ValueError
    if integer:
        if number != int(number):
            raise ValueError
        return int(number)
    return float(number)


def _bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError


def _empty(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _convert(f, value, refs, tz=None):
    """The value as stored (JSON-ready), or raise ValueError with a message."""
    if f.type == "text":
        if not isinstance(value, str):
            raise Problem("text")
        text = _clean_text(value)
        if f.max and len(text) > f.max:
            raise Problem("too_long", n=f.max)
        return text
    if f.type == "choice":
        codes = [c[0] for c in f.choices]
        if value not in codes:
            raise Problem("choice", options=", ".join(codes))
        return value
    if f.type in ("number", "integer"):
        try:
            number = _number(value, f.type == "integer")
        except (ValueError, TypeError):
            raise Problem(f.type) from None
        if f.min is not None and number < f.min or f.max is not None and number > f.max:
            raise Problem("range", min=f"{f.min:g}", max=f"{f.max:g}", unit=f.unit)
        return number if f.type == "integer" else round(number, 3)
    if f.type == "bool":
        try:
            return _bool(value)
        except ValueError:
            raise Problem("bool") from None
    if f.type == "date":
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise Problem("date") from None
        return _in_years(day).isoformat()
    if f.type == "datetime":
        try:
            when = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise Problem("datetime") from None
        _in_years(when)
        if when.tzinfo is not None:  # stored as the canteen's local wall-clock time
            try:
                when = when.astimezone(tz).replace(tzinfo=None) if tz else when.replace(tzinfo=None)
            except OverflowError:
                raise Problem("date_range", min=MIN_YEAR, max=MAX_YEAR) from None
            _in_years(when)
        return when.isoformat(timespec="minutes")
    if f.type == "photo":  # the name the upload was stored under (photos.save_photo)
        if not isinstance(value, str) or not PHOTO_NAME.match(value):
            raise Problem("text")
        return value
    if f.type == "meal":
        if value not in MEALS:
            raise Problem("choice", options=", ".join(MEALS))
        return value
    if f.type in REF_TYPES:
        try:
            ident = _number(value, integer=True)
        except (ValueError, TypeError, OverflowError):
            raise Problem("ref") from None
        if not 1 <= ident <= MAX_ID or refs(f.type, ident) is None:
            raise Problem("ref")
        return ident
    raise ValueError(f"unknown field type {f.type}")


def _required(kind, f, clean, refs):
    if f.required:
        return True
    rule = f.required_if
    if not rule:
        return False
    rules = rule if isinstance(rule, list) else [rule]  # a list: required if any holds
    return any(_holds(kind, r, clean, refs) and not (r.get("unless") and _holds(kind, r["unless"], clean, refs))
               for r in rules)


def _holds(kind, rule, clean, refs):
    name, _dot, attr = rule["field"].partition(".")
    value = clean.get(name)
    if attr and value is not None:  # e.g. "unit.kind": an attribute of the referenced row
        row = refs(kind.field(name).type, value)
        value = getattr(row, attr, None) if row is not None else None
    if "in" in rule:
        return value in rule["in"]
    if "above" in rule:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value > rule["above"]
    if "present" in rule:
        return value is not None
    return False


def _compare_key(f, text):
    if f.type == "date":
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    return dt.datetime.fromisoformat(text)


def validate(kind, data, refs, now_local, tz=None, lang="en", say=english):
    """Check an entry of `kind`; return the clean dict or raise EntryErrors.

    `now_local`: the canteen's local time, for "not in the future" (a little slack for
    clocks); `tz`: its zone, to turn a time sent with an offset into local time.
    """
    if not isinstance(data, dict):
        raise EntryErrors({"body": "The entry must be a JSON object."})
    errors, clean = {}, {}
    known = {f.name for f in kind.fields}
    for name in data:
        if name not in known:
            errors[str(name)[:40]] = say("unknown", label=str(name)[:40])
    for f in kind.fields:
        value = data.get(f.name)
        if value is None or _empty(value):
            continue
        try:
            clean[f.name] = _convert(f, value, refs, tz)
        except Problem as e:
            errors[f.name] = say(e.key, label=f.label(lang), **e.params)
        except OverflowError:
            errors[f.name] = say(f.type if f.type in MESSAGES else "number", label=f.label(lang))
    for f in kind.fields:
        if f.name not in errors and f.name not in clean and _required(kind, f, clean, refs):
            errors[f.name] = say("required", label=f.label(lang))
    slack = now_local + dt.timedelta(minutes=10)
    for f in kind.fields:
        if f.name not in clean or f.type not in ("date", "datetime"):
            continue
        when = _compare_key(f, clean[f.name])
        if f.past and when > slack:
            errors[f.name] = say("future", label=f.label(lang))
        if f.after and f.after in clean and when < _compare_key(kind.field(f.after), clean[f.after]):
            errors[f.name] = say("before", label=f.label(lang), other=kind.field(f.after).label(lang))
    if errors:
        raise EntryErrors(errors)
    return clean


# JSON types an entry sent to the API must use (forms send text and are read leniently above).
JSON_TYPES = {"text": (str,), "choice": (str,), "date": (str,), "datetime": (str,), "photo": (str,), "meal": (str,),
              "bool": (bool,), "number": (int, float), "integer": (int, float)}
TYPE_PROBLEM = {"bool": "bool", "number": "number", "integer": "integer", "date": "date", "datetime": "datetime"}


def json_type_errors(kind, data, lang="en", say=english):
    """{field: message} for values of the wrong JSON type, as the API's schema describes them:
    a number is a JSON number (not "3,5"), a yes/no is true/false, no value is null or blank
    (a field without a value is left out; only text may be blank)."""
    if not isinstance(data, dict):
        return {}
    errors = {}
    for f in kind.fields:
        if f.name not in data:
            continue
        value = data[f.name]
        allowed = JSON_TYPES.get(f.type, (int, float))  # registers: ids
        integral = f.type == "integer" or f.type in REF_TYPES
        wrong = (not isinstance(value, allowed) or isinstance(value, bool) and bool not in allowed
                 or integral and isinstance(value, float) and not value.is_integer()
                 or f.type != "text" and isinstance(value, str) and not value.strip())  # leave it out instead
        if wrong:
            key = TYPE_PROBLEM.get(f.type, "ref" if f.type in REF_TYPES else "text")
            errors[f.name] = say(key, label=f.label(lang))
    if "occurred_at" in data and not isinstance(data["occurred_at"], str):
        errors["occurred_at"] = "occurred_at must be a time like 2026-11-26T08:30"
    return errors


# --- the same rules as JSON Schema, for canteen/openapi.json -----------------------------

def _field_schema(f):
    label = f"{f.en} / {f.zh}"
    if f.type == "text":
        s = {"type": "string", "maxLength": f.max} if f.max else {"type": "string"}
        if f.required:  # blank text counts as missing
            s.update(minLength=1, pattern=r"\S")
        return dict(s, description=label)
    if f.type == "choice":
        return {"type": "string", "enum": [c[0] for c in f.choices], "description": label}
    if f.type in ("number", "integer"):
        s = {"type": f.type}
        s.update({k: v for k, v in (("minimum", f.min), ("maximum", f.max)) if v is not None})
        return dict(s, description=label + (f" ({f.unit})" if f.unit else ""))
    if f.type == "bool":
        return {"type": "boolean", "description": label}
    if f.type == "date":
        return {"type": "string", "format": "date", "description": label}
    if f.type == "datetime":
        return {"type": "string", "description": f"local time, e.g. 2026-11-26T08:30 (or with an offset) {label}"}
    if f.type == "photo":
        return {"type": "string", "pattern": PHOTO_NAME.pattern,
                "description": f"{label}: uploaded through the form; the API only carries the stored name"}
    if f.type == "meal":
        return {"type": "string", "enum": list(MEALS), "description": label}
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": f"id of a registered {f.type} {label}"}


def _condition(rule):
    """required_if as the `if` of JSON Schema (a list: any of its rules; `unless`: and not that);
    None when a rule is about a referenced row."""
    parts = []
    for one in rule if isinstance(rule, list) else [rule]:
        condition = _one_condition(one)
        unless = _one_condition(one["unless"]) if one.get("unless") else None
        if condition is None or (one.get("unless") and unless is None):
            return None
        parts.append({"allOf": [condition, {"not": unless}]} if unless else condition)
    return parts[0] if len(parts) == 1 else {"anyOf": parts}


def _one_condition(rule):
    name = rule["field"]
    if "." in name:
        return None  # e.g. unit.kind: a fact of the register, not of the entry
    if "in" in rule:
        return {"properties": {name: {"enum": rule["in"]}}, "required": [name]}
    if "above" in rule:
        return {"properties": {name: {"type": "number", "exclusiveMinimum": rule["above"]}}, "required": [name]}
    return {"required": [name]}


def json_schema(kind):
    """An entry of `kind` as JSON Schema (2020-12, as OpenAPI 3.1 uses it): what validate() checks
    that a schema can say; required_if rules become if/then."""
    properties = {f.name: _field_schema(f) for f in kind.fields}
    properties["occurred_at"] = {"type": "string", "description": "When it happened, if earlier than now "
                                 "(the entry is then marked late). Default: the server's time of entry."}
    schema = {"type": "object", "description": f"{kind.en} / {kind.zh}", "additionalProperties": False,
              "required": [f.name for f in kind.fields if f.required], "properties": properties}
    conditions = []
    for f in kind.fields:
        condition = _condition(f.required_if) if f.required_if else None
        if condition is not None:
            then = {"required": [f.name]}
            if f.type == "text":  # blank text counts as missing here too
                then["properties"] = {f.name: {"minLength": 1, "pattern": r"\S"}}
            conditions.append({"if": condition, "then": then})
        elif f.required_if:
            rule = f.required_if[0] if isinstance(f.required_if, list) else f.required_if
            owner, _dot, attr = rule["field"].partition(".")
            properties[f.name]["description"] += (f"; required when the {owner}'s {attr} is one of "
                                                  + ", ".join(map(str, rule["in"])))
    if conditions:
        schema["allOf"] = conditions
    return schema
