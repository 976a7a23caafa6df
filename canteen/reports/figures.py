"""The numbers behind every report, read from the rollups: sums of faces per group, the
fair score and the good share with its interval, suppression of small groups."""
import datetime as dt
from dataclasses import dataclass, field

from flask import current_app
from peewee import fn

from ..rollups import TagRollup, VoteRollup
from ..scoring import bayesian_average, suppressed, wilson_interval
from .filters import iso_week

FACE_COLUMNS = [VoteRollup.s1, VoteRollup.s2, VoteRollup.s3, VoteRollup.s4, VoteRollup.s5]
DIMENSIONS = {"dish": VoteRollup.dish, "meal": VoteRollup.meal, "shift": VoteRollup.shift,
              "place": VoteRollup.place, "day": VoteRollup.day}


@dataclass
class Sums:
    """Counted votes of one group: faces[0] is the number of 1s … faces[4] of 5s."""
    faces: list = field(default_factory=lambda: [0] * 5)
    flagged: int = 0
    replaced: int = 0

    @property
    def n(self):
        return sum(self.faces)

    @property
    def total(self):
        return sum((i + 1) * c for i, c in enumerate(self.faces))

    @property
    def good(self):
        return self.faces[3] + self.faces[4]

    @property
    def mean(self):
        return self.total / self.n if self.n else None

    def add(self, other):
        self.faces = [a + b for a, b in zip(self.faces, other.faces)]
        self.flagged += other.flagged
        self.replaced += other.replaced
        return self


def sums_by(filters, *dims):
    """{(dim values…): Sums} for the filtered slice, grouped by the named dimensions."""
    columns = [DIMENSIONS[d] for d in dims]
    query = (VoteRollup.select(*columns, *[fn.SUM(c) for c in FACE_COLUMNS],
                               fn.SUM(VoteRollup.flagged), fn.SUM(VoteRollup.replaced))
             .where(filters.where(VoteRollup)))
    if columns:
        query = query.group_by(*columns)
    out = {}
    for row in query.tuples():
        key, values = row[:len(dims)], [int(v or 0) for v in row[len(dims):]]
        key = tuple(dt.date.fromisoformat(str(k)) if d == "day" else k for d, k in zip(dims, key))
        out[key] = Sums(values[:5], values[5], values[6])
    return out


def by_week(day_sums):
    """{(week, *rest): Sums} from {(day, *rest): Sums}."""
    out = {}
    for (day, *rest), sums in day_sums.items():
        out.setdefault((iso_week(day), *rest), Sums()).add(sums)
    return out


def total(filters):
    return sums_by(filters).get((), Sums())


def combined(groups):
    """One Sums of many groups' Sums."""
    out = Sums()
    for sums in groups.values():
        out.add(sums)
    return out


def prior_mean(filters, everything=None):
    """The canteen's mean over the same period and meal, every dish: the fair score's prior.
    `everything`: those votes' Sums when the caller already has them."""
    everything = everything or total(filters._replace(dish=None))
    return everything.mean if everything.n else 3.0


def stats(sums, prior):
    """What a report may show of one group, with small groups suppressed."""
    config = current_app.config
    n = sums.n
    hidden = suppressed(n, config["REPORT_MIN_GROUP"])
    enough = n >= config["REPORT_MIN_VOTES"] and not hidden
    fair = bayesian_average(sums.total, n, prior, config["REPORT_PRIOR_WEIGHT"]) if enough else None
    return {
        "votes": n, "suppressed": hidden, "enough": enough,
        "mean": round(sums.mean, 2) if n and not hidden else None,
        "fair": round(fair, 2) if fair is not None else None,
        "good_share": round(sums.good / n, 4) if enough else None,
        "good_interval": tuple(round(x, 4) for x in wilson_interval(sums.good, n)) if enough else None,
        "faces": list(sums.faces) if not hidden else None,
    }


def tag_counts(filters, *dims):
    """{(dim values…, tag): count} of reason chips on counted votes; None when the filters
    name a place or shift (reasons are not kept per place or shift, see rollups.py)."""
    if filters.place is not None or filters.shift is not None:
        return None
    columns = [getattr(TagRollup, d) for d in dims]
    query = (TagRollup.select(*columns, TagRollup.tag, fn.SUM(TagRollup.n))
             .where(filters.where(TagRollup)).group_by(*columns, TagRollup.tag))
    out = {}
    for row in query.tuples():
        key = tuple(dt.date.fromisoformat(str(k)) if d == "day" else k for d, k in zip(dims, row[:len(dims)]))
        if row[-1]:
            out[key + (row[-2],)] = int(row[-1])
    return out
