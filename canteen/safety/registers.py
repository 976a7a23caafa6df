"""The registers (suppliers, storage units, staff and their trainings): one set of rules for
the back-office forms, the JSON API and the command line — what a field takes, what is
refused, and the audit entry every addition writes.

Forms send text and are read leniently (an empty staff choice is none); the API and the
command line are strict (`strict=True`): a field of the wrong JSON type or an unknown field
is an error, never silently dropped.
"""
import datetime as dt

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from .. import audit
from ..clock import clock
from ..db import write_transaction
from ..office.forms import printable
from ..vocabulary import TRAINING_TOPICS
from .models import UNIT_KINDS, Staff, StorageUnit, Supplier, Training
from .schema import KINDS

# kind → (model, [(field, type, label)]); the order is the form's and the table's.
REGISTERS = {
    "suppliers": (Supplier, [("name", "text", _l("Name")), ("licence_no", "text", _l("Licence number")),
                             ("licence_expiry", "date", _l("Licence valid until")), ("contact", "text", _l("Contact"))]),
    "units": (StorageUnit, [("name", "text", _l("Name")), ("kind", "unit_kind", _l("Type")),
                            ("owner", "staff", _l("Owner (4D responsibility)")), ("checker", "staff", _l("Checker"))]),
    "staff": (Staff, [("name", "text", _l("Name")), ("job", "text", _l("Job")),
                      ("health_cert_no", "text", _l("Health certificate number")),
                      ("health_cert_expiry", "date", _l("Health certificate valid until")),
                      ("shift", "shift", _l("Shift"))]),
}
TRAINING_FIELDS = [("topic", "topic", _l("Topic")), ("day", "past_date", _l("Date")),
                   ("trainer", "text", _l("Trainer"))]
REQUIRED = {"name", "kind", "topic", "day"}
UNIQUE_NAMES = (Supplier, StorageUnit)  # two staff may share a name; two fridges may not


class RegisterErrors(ValueError):
    """{field: message} for an entry that cannot be stored."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


def max_length(model, field):
    return getattr(model, field).max_length


def clean(model, fields, raw, strict=False):
    """Clean values from `raw` (a form or a JSON object), or raise RegisterErrors."""
    values, errors = {}, {}
    if strict:
        for name in raw:
            if name not in {f for f, _k, _l in fields}:
                errors[name] = _("%(name)s is not a field of this register", name=str(name)[:40])
    for field, kind, label in fields:
        raw_value = raw.get(field)
        if strict and field in raw and kind != "staff" and not isinstance(raw_value, str) \
                and not (kind in ("date", "shift") and raw_value is None):  # JSON null: none
            errors[field] = _("%(label)s: must be text", label=label)
            continue
        if strict and kind in ("date", "past_date") and raw_value == "":
            errors[field] = _("%(label)s: must be a date like 2026-11-26", label=label)
            continue
        text = printable(raw_value if isinstance(raw_value, str) else "") or ""
        if field in REQUIRED and not text and kind != "staff":
            errors[field] = _("%(label)s is required", label=label)
        elif kind == "text":
            if len(raw_value or "") > max_length(model, field) or len(text) > max_length(model, field):
                errors[field] = _("%(label)s: at most %(n)d characters", label=label, n=max_length(model, field))
            values[field] = text
        elif kind in ("date", "past_date"):
            try:
                values[field] = dt.date.fromisoformat(text) if text else None
            except ValueError:
                errors[field] = _("%(label)s: must be a date like 2026-11-26", label=label)
                continue
            if values[field] and not 2000 <= values[field].year <= 2100:
                errors[field] = _("%(label)s: must be a date like 2026-11-26", label=label)
            elif kind == "past_date" and values[field] and values[field] > clock().today():
                errors[field] = _("%(label)s cannot be in the future", label=label)
        elif kind == "unit_kind":
            if text not in UNIT_KINDS:
                errors[field] = _("%(label)s: choose one of %(options)s", label=label, options=", ".join(UNIT_KINDS))
            values[field] = text
        elif kind == "topic":
            if text not in TRAINING_TOPICS:
                errors[field] = _("%(label)s: choose one of %(options)s", label=label,
                                  options=", ".join(TRAINING_TOPICS))
            values[field] = text
        elif kind == "shift":
            names = shift_names()
            if text and text not in names:
                errors[field] = _("%(label)s: choose one of %(options)s", label=label, options=", ".join(names))
            values[field] = text or None
        elif kind == "staff":
            values[field], problem = staff_ref(raw_value, strict)
            if problem:
                errors[field] = _("%(label)s: there is no such entry in the register", label=label)
    if errors:
        raise RegisterErrors(errors)
    return values


def shift_names():
    """The mine's shifts (CANTEEN_SHIFTS), in their configured order."""
    return [w.name for w in clock().shifts]


def shift_label(name, lang):
    """A shift as people read it: the health log's name for it where it has one."""
    choice = next((c for c in KINDS["health_check"].field("shift").choices if c[0] == name), None)
    if choice is None:
        return name or ""
    return choice[2] if lang == "en" else choice[1]


def staff_ref(raw, strict):
    """(staff id or None, whether that is a problem). Forms send text; the API a number or null."""
    if raw is None or raw == "":
        return None, False
    if strict and (isinstance(raw, bool) or not isinstance(raw, int)):
        return None, True
    text = str(raw).strip()
    if not text.isdigit() or len(text) > 18:
        return None, strict
    found = Staff.get_or_none(Staff.id == int(text))
    return (found.id if found else None), strict and found is None


def add(kind, raw, actor, strict=False):
    """Validate and store a new register entry, audited; returns the row."""
    model, fields = REGISTERS[kind]
    values = clean(model, fields, raw, strict)
    try:
        with write_transaction():
            if model in UNIQUE_NAMES and model.select().where(model.name == values["name"]).exists():
                raise RegisterErrors({"name": _("This name is already in the register.")})
            row = model.create(**values)
            audit.record(actor, f"register.{kind}.create", kind, row.id, rows=[row], **values)
    except IntegrityError:  # the same name added at the same moment by someone else
        raise RegisterErrors({"name": _("This name is already in the register.")}) from None
    return row


def find(kind, row_id):
    model, _fields = REGISTERS[kind]
    return model.get_or_none(model.id == row_id)


def set_active(kind, row, active, actor):
    """Take an entry out of use or bring it back, audited; records that name it keep their link.
    Asking for what already is changes nothing and writes nothing."""
    if row.active == active:
        return row
    with write_transaction():
        row.active = active
        row.save()
        audit.record(actor, f"register.{kind}.active", kind, row.id, rows=[row], active=active)
    return row


def set_shift(row, shift, actor):
    """Put a staff member on a shift (a CANTEEN_SHIFTS name) or on none, audited: the people
    registered before shifts existed get theirs this way. The same shift again writes nothing."""
    if shift is not None and shift not in shift_names():
        raise RegisterErrors({"shift": _("%(label)s: choose one of %(options)s", label=_("Shift"),
                                         options=", ".join(shift_names()))})
    if row.shift == shift:
        return row
    with write_transaction():
        row.shift = shift
        row.save()
        audit.record(actor, "register.staff.shift", "staff", row.id, rows=[row], shift=shift)
    return row


def change(kind, row, raw, actor):
    """The API's change of an entry: `{"active": true|false}`, and for staff `{"shift": name|null}`
    (the only things that may change). API-only, so its messages are in English as every API
    message is (see jsonapi.py)."""
    allowed = ("active", "shift") if kind == "staff" else ("active",)
    errors = {name: f"{str(name)[:40]} cannot be changed here; send only {' or '.join(allowed)}"
              for name in raw if name not in allowed}
    if not any(name in raw for name in allowed):
        errors.setdefault("active", "active is required: true brings the entry back, false takes it out of use")
    if "active" in raw and not isinstance(raw["active"], bool):
        errors["active"] = "active must be true or false"
    if "shift" in raw and raw["shift"] is not None and raw["shift"] not in shift_names():
        errors["shift"] = f"shift must be one of {', '.join(shift_names())} or null"
    if errors:
        raise RegisterErrors(errors)
    if "shift" in raw:  # both checked above, so neither is refused after the other is written
        set_shift(row, raw["shift"], actor)
    if "active" in raw:
        set_active(kind, row, raw["active"], actor)
    return row


def add_training(person, raw, actor, strict=False):
    """Validate and store a training `person` received, audited; returns the row."""
    values = clean(Training, TRAINING_FIELDS, raw, strict)
    with write_transaction():
        training = Training.create(staff=person, **values)
        audit.record(actor, "register.training.create", "training", training.id, rows=[training],
                     staff=person.id, **values)
    return training


def entries(kind):
    model, _fields = REGISTERS[kind]
    return model.select().order_by(model.name, model.id)


def trainings_of(person):
    return Training.select().where(Training.staff == person).order_by(Training.day.desc(), Training.id.desc())


def as_json(kind, row):
    """One entry as the API and `register list --json` show it."""
    fields = TRAINING_FIELDS if kind == "trainings" else REGISTERS[kind][1]
    item = {"id": row.id}
    for field, type_, _label in fields:
        value = getattr(row, f"{field}_id") if type_ == "staff" else getattr(row, field)
        item[field] = value.isoformat() if isinstance(value, dt.date) else value
    if kind == "trainings":
        item["staff"] = row.staff_id
    else:
        item["active"] = row.active
    return item
