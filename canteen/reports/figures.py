"""The numbers behind every report, read from the rollups: sums of faces per group, the
fair score and the good share with its interval, suppression of small groups."""
import datetime as dt
from dataclasses import dataclass, field

from flask import current_app
from peewee import fn

from ..feedback.rollups import TagMonth, TagRollup, VoteMonth, VoteRollup
from ..models import Dish
from .filters import iso_week
from .scoring import bayesian_average, suppressed, wilson_interval

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


def spans(filters, dims):
    """[(daily or monthly, Filters)] that cover the filters' days: the whole months in the
    middle from the month rollups (a report over years reads months, not days), the days at
    either end from the daily ones. Day by day when the report groups by day."""
    first, last = filters.first, filters.last
    if "day" in dims:
        return [(False, filters)]
    month_in = first if first.day == 1 else (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    after = last + dt.timedelta(days=1)
    month_out = after if after.day == 1 else last.replace(day=1)  # first day not in a whole month
    if month_in >= month_out:
        return [(False, filters)]
    out = [(True, filters._replace(first=month_in, last=month_out - dt.timedelta(days=1)))]
    if first < month_in:
        out.append((False, filters._replace(last=month_in - dt.timedelta(days=1))))
    if month_out <= last:
        out.append((False, filters._replace(first=month_out)))
    return out


def sums_by(filters, *dims):
    """{(dim values…): Sums} for the filtered slice, grouped by the named dimensions."""
    out = {}
    for monthly, span in spans(filters, dims):
        model = VoteMonth if monthly else VoteRollup
        columns = [getattr(model, DIMENSIONS[d].name) for d in dims]
        query = (model.select(*columns, *[fn.SUM(getattr(model, c.name)) for c in FACE_COLUMNS],
                              fn.SUM(model.flagged), fn.SUM(model.replaced))
                 .where(span.where(model)))
        if columns:
            query = query.group_by(*columns)
        for row in query.tuples():
            key, values = row[:len(dims)], [int(v or 0) for v in row[len(dims):]]
            key = tuple(dt.date.fromisoformat(str(k)) if d == "day" else k for d, k in zip(dims, key))
            out.setdefault(key, Sums()).add(Sums(values[:5], values[5], values[6]))
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


def hidden_groups(counts, k=None):
    """The groups a table must not show: every group of fewer than k voters and — when those
    add up to fewer than k, so that a shown total minus the shown groups would give them
    away — the smallest shown ones too, until the hidden ones together reach k."""
    k = current_app.config["REPORT_MIN_GROUP"] if k is None else k
    hidden = {key for key, n in counts.items() if n and suppressed(n, k)}
    together = sum(counts[key] for key in hidden)
    if hidden and together < k:
        for key, n in sorted(((key, n) for key, n in counts.items() if n and key not in hidden),
                             key=lambda kv: (kv[1], str(kv[0]))):
            hidden.add(key)
            together += n
            if together >= k:
                break
    return hidden


def stats(sums, prior, hide=False):
    """What a report may show of one group, with small groups suppressed (`hide`: suppressed
    anyway, see hidden_groups)."""
    config = current_app.config
    n = sums.n
    hidden = suppressed(n, config["REPORT_MIN_GROUP"]) or hide
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


def dish_rows(filters):
    """Every dish with counted votes in `filters` (any dish filter ignored), best fair score
    first: (rows of {dish, reason codes (None when not kept for these filters), **stats},
    the canteen's Sums, its mean as the prior, the reason counts per dish). The scoreboard
    and the weekly report both show these rows, each in its own words."""
    filters = filters._replace(dish=None)
    per_dish = sums_by(filters, "dish")
    overall = combined(per_dish)
    prior = prior_mean(filters, overall)
    per_tag = tag_counts(filters, "dish")
    tags = {}
    for (dish_id, tag), n in (per_tag or {}).items():
        tags.setdefault(dish_id, []).append((n, tag))
    dishes = {d.id: d for d in Dish.select()}
    hide = hidden_groups({key: sums.n for key, sums in per_dish.items()})
    rows = []
    for (dish_id,), sums in per_dish.items():
        if dish_id not in dishes or not sums.n:
            continue
        row = {"dish": dishes[dish_id], **stats(sums, prior, (dish_id,) in hide)}
        row["reasons"] = None if per_tag is None else [] if row["suppressed"] else \
            [t for _n, t in sorted(tags.get(dish_id, []), reverse=True)[:3]]
        rows.append(row)
    rows.sort(key=lambda d: (d["fair"] is None, -(d["fair"] or 0), -d["votes"]))
    return rows, overall, prior, per_tag


def tag_counts(filters, *dims):
    """{(dim values…, tag): count} of reason chips on counted votes; None when the filters
    name a place or shift (reasons are not kept per place or shift, see rollups.py)."""
    if filters.place is not None or filters.shift is not None:
        return None
    out = {}
    for monthly, span in spans(filters, dims):
        model = TagMonth if monthly else TagRollup
        columns = [getattr(model, d) for d in dims]
        query = (model.select(*columns, model.tag, fn.SUM(model.n))
                 .where(span.where(model)).group_by(*columns, model.tag))
        for row in query.tuples():
            key = tuple(dt.date.fromisoformat(str(k)) if d == "day" else k for d, k in zip(dims, row[:len(dims)]))
            if row[-1]:
                key += (row[-2],)
                out[key] = out.get(key, 0) + int(row[-1])
    return out
