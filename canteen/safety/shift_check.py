"""The morning health check of a whole shift on one screen: everyone on duty starts "fit" with
every answer normal; the manager marks only the exceptions, and one save stores one health
record per person (service.create_many: all or nothing, each judged as a single entry is).

Pure: no Flask, no database. The form posts, for each person on the roster:
  on-<id>            present when the person is on this shift (unticked: not checked now)
  <id>-<field>       present when that answer is the exception (fever: yes; hair covered: no)
  <id>-unfit         present when the person is sent off food work
  once               the page's one-time token: the same Save sent twice (a double tap) stores once
  seen               the newest health record when the page was made: a person checked since
                     (the page open twice) is refused, never checked twice unnoticed
"""
import datetime as dt

from ..meals import shift_at
from .schema import KINDS

KIND = KINDS["health_check"]
# The yes/no answers a person may be an exception on, with the normal answer of each.
ANSWERS = [f for f in KIND.fields if f.type == "bool" and f.normal is not None and f.name != "fit_for_work"]
SHARED = ("shift", "checked_by", "occurred_at")  # one value for the whole shift


def bars_work(field):
    """A symptom (normally absent) keeps the person off food work: ticking it sends them off."""
    return field.normal is False


def entries(roster, form, shared):
    """[(staff id, entry)] for each person on duty; `form` is a mapping of the posted fields,
    `shared` the shift, checker and time for everyone."""
    out = []
    for ident in roster:
        if not form.get(f"on-{ident}"):
            continue
        entry = {"staff": ident, **{k: v for k, v in shared.items() if v not in (None, "")}}
        for f in ANSWERS:
            exception = bool(form.get(f"{ident}-{f.name}"))
            entry[f.name] = (not f.normal) if exception else f.normal
        entry["fit_for_work"] = not form.get(f"{ident}-unfit")
        out.append((ident, entry))
    return out


def split_roster(roster, shift):
    """(those on `shift` or with no shift set, everyone else): the first are on the page and
    ticked, the others one tap away."""
    on = [p for p in roster if not p.shift or p.shift == shift]
    return on, [p for p in roster if p.shift and p.shift != shift]


def roster_shift(selected, local_now, shifts):
    """The staff register's name for the shift being checked: the log's choice when the
    canteen's shifts use the log's names (the default), else the shift about to start."""
    if any(w.name == selected for w in shifts):
        return selected
    return shift_at(local_now + dt.timedelta(hours=1), shifts)


def left_out(roster, form):
    """Ids ticked on duty that are no longer on the roster (taken out of the register while the
    page was open): refused by name, never dropped silently."""
    listed = set(roster)
    return sorted(int(key[3:]) for key in form
                  if key.startswith("on-") and key[3:].isascii() and key[3:].isdigit() and len(key) < 24
                  and form.get(key)
                  and int(key[3:]) not in listed)


def seen(form):
    """The newest record id the page knew of, or None for a page that did not say (checked then
    as before: by the one-time token only)."""
    value = form.get("seen") or ""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def default_shift(local_now, shifts, choices):
    """The shift about to start or running an hour from now (the check is made before it
    starts), if the canteen's shift names are the log's; else the first."""
    codes = [c[0] for c in choices]
    name = shift_at(local_now + dt.timedelta(hours=1), shifts)
    return name if name in codes else codes[0]

