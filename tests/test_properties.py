"""Property tests without Flask or a database: the 4D rule engine's limits are monotone and
pinned to the national figures, the score maths stays fair, the safety form parser never
lets a bad value through or raises anything but its own errors."""
import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.checklists.engine import judge, load
from canteen.reports.scoring import bayesian_average, trial_verdict, wilson_interval
from canteen.safety.schema import KINDS, EntryErrors, validate

from .test_checklists import DAY, applicable, context_for

CHECKLIST = load()
BY_ID = {i.id: i for i in CHECKLIST.items}

# The national figures, typed from ../shared/domain/food-safety.md (the 2018 code, GB 14934,
# GB 31654), NOT read back from 4d.toml: a limit moved in the file must fail here.
# (item, check, limit in the item's unit, what the figure is)
NATIONAL = [
    ("PROC-08", "max", 3, "chilled arrival: surface ≤ labelled storage temp + 3 ℃"),
    ("PROC-09", "max", 8, "chilled arrival within the chilled range 0–8 ℃"),
    ("PROC-10", "max", -9, "frozen arrival: surface ≤ −9 ℃"),
    ("TRAN-04", "max", 8, "chilled loads within 0–8 ℃"),
    ("TRAN-05", "max", -12, "frozen loads below −12 ℃"),
    ("STOR-01", "max", 8, "chilled storage 0–8 ℃ (cold room, fridge, sample fridge)"),
    ("STOR-02", "min", 0, "chilled storage 0–8 ℃"),
    ("STOR-03", "max", -12, "frozen storage below −12 ℃"),
    ("STOR-04", "min", 10, "shelves ≥ 10 cm off the floor"),
    ("STOR-05", "min", 10, "shelves ≥ 10 cm off the wall"),
    ("STOR-09", "max", 0, "expired stock cleared"),
    ("PROD-04", "min", 100, "raw-eaten produce: 100 mg/L available chlorine"),
    ("PROD-05", "min", 5, "chlorine soak ≥ 5 min"),
    ("TABL-04", "min", 100, "boiling or steam 100 ℃"),
    ("TABL-05", "min", 10, "boiling or steam ≥ 10 min"),
    ("TABL-06", "min", 120, "infrared cabinet 120 ℃"),
    ("TABL-07", "min", 10, "infrared cabinet ≥ 10 min"),
    ("TABL-08", "min", 250, "chemical: 250 mg/L available chlorine"),
    ("TABL-09", "min", 5, "chemical: fully immersed ≥ 5 min"),
    ("TABL-10", "min", 85, "dishwasher final rinse ≥ 85 ℃"),
    ("TABL-11", "min", 40, "dishwasher final rinse ≥ 40 s"),
    ("COOK-01", "min", 70, "core temperature ≥ 70 ℃"),
    ("COOK-02", "above", 60, "held over 2 h: hot above 60 ℃"),
    ("COOK-03", "max", 8, "held over 2 h: cold at 8 ℃ or colder"),
    ("COOK-05", "min", 70, "reheat to ≥ 70 ℃"),
    ("SAMP-01", "min", 125, "sample ≥ 125 g"),
    ("SAMP-04", "hours_between_min", 48, "sample kept ≥ 48 h"),
    ("SAMP-06", "max", 8, "sample fridge 0–8 ℃"),
    ("SAMP-07", "min", 0, "sample fridge 0–8 ℃"),
]
NUMERIC = [i for i in CHECKLIST.items if i.check in ("max", "min", "above", "below")]


def failed(item, value, context=None):
    values = dict(applicable(item), **{item.field: value})
    verdict = judge(item.kind, values, DAY, CHECKLIST, context or context_for(item, True))
    return item.id in {f.item for f in verdict.findings}


def limit_of(item):
    """The effective limit for the values `applicable` gives (a base field plus an offset)."""
    base = applicable(item).get(item.limit_field, 0) if item.limit_field else 0
    return item.limit + base


@pytest.mark.parametrize("item_id,check,figure,why", NATIONAL, ids=[n[0] for n in NATIONAL])
def test_the_checklist_holds_the_national_figure(item_id, check, figure, why):
    item = BY_ID[item_id]
    assert item.enabled and (item.check, item.limit) == (check, figure), why
    if check == "hours_between_min":
        start = dt.datetime(2026, 11, 24, 8, 0)
        for hours, ok in ((figure, True), (figure - 1 / 60, False)):
            values = dict(applicable(item), **{item.other: start.isoformat(),
                                                item.field: (start + dt.timedelta(hours=hours)).isoformat()})
            verdict = judge(item.kind, values, DAY, CHECKLIST, context_for(item, True))
            assert (item_id not in {f.item for f in verdict.findings}) == ok, (why, hours)
        return
    edge = figure + (applicable(item).get(item.limit_field, 0) if item.limit_field else 0)
    # The figure itself: inclusive limits pass at it, strict ones fail; a hair past fails.
    assert failed(item, edge) == (check in ("above", "below")), why
    past = {"max": 0.1, "min": -0.1, "above": -0.1, "below": 0.1}[check]
    assert failed(item, round(edge + past, 3)), why
    inside = {"max": -0.1, "min": 0.1, "above": 0.1, "below": -0.1}[check]
    assert not failed(item, round(edge + inside, 3)), why


def test_every_numeric_item_has_its_national_figure():
    assert {i.id for i in NUMERIC} | {"SAMP-04"} == {n[0] for n in NATIONAL} | {"PROD-08"}


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@pytest.mark.parametrize("item", NUMERIC, ids=lambda i: i.id)
@settings(max_examples=60, deadline=None)
@given(a=finite, b=finite)
def test_a_value_further_past_a_limit_never_passes(item, a, b):
    """Monotone: if a value fails, every value further on the wrong side fails too, and
    a value inside the limit always passes."""
    limit = limit_of(item)
    wrong_way = 1 if item.check in ("max", "below") else -1
    nearer, further = sorted((a, b), key=lambda v: wrong_way * v)
    if failed(item, nearer):
        assert failed(item, further)
    inside = {"max": lambda v: v <= limit, "min": lambda v: v >= limit,
              "above": lambda v: v > limit, "below": lambda v: v < limit}[item.check]
    for value in (a, b):
        assert failed(item, value) == (not inside(value))


@settings(max_examples=300, deadline=None)
@given(votes=st.integers(0, 10_000), data=st.data(),
       prior_mean=st.floats(1, 5), prior_weight=st.floats(0, 100))
def test_the_fair_score_lies_between_the_dish_mean_and_the_canteen_mean(votes, data, prior_mean, prior_weight):
    scores = data.draw(st.lists(st.integers(1, 5), min_size=votes, max_size=votes)) if votes <= 200 else None
    score_sum = sum(scores) if scores is not None else data.draw(st.integers(votes, 5 * votes))
    fair = bayesian_average(score_sum, votes, prior_mean, prior_weight)
    if votes + prior_weight == 0:
        assert fair is None
        return
    if votes == 0:
        assert fair == pytest.approx(prior_mean)
        return
    mean = score_sum / votes
    low, high = min(mean, prior_mean), max(mean, prior_mean)
    assert low - 1e-9 <= fair <= high + 1e-9
    # One more vote of the dish's own mean moves it toward the dish, never past it.
    more = bayesian_average(score_sum + mean, votes + 1, prior_mean, prior_weight)
    assert abs(more - mean) <= abs(fair - mean) + 1e-9


@settings(max_examples=500, deadline=None)
@given(votes=st.integers(1, 100_000), data=st.data())
def test_the_wilson_interval_stays_in_zero_one_and_holds_the_share(votes, data):
    good = data.draw(st.integers(0, votes))
    low, high = wilson_interval(good, votes)
    share = good / votes
    assert 0.0 <= low <= share <= high <= 1.0
    assert high - low > 0
    # More votes at the same share never widen the interval.
    low2, high2 = wilson_interval(good * 2, votes * 2)
    assert high2 - low2 <= high - low + 1e-12


@settings(max_examples=300, deadline=None)
@given(votes=st.integers(0, 500), data=st.data())
def test_a_trial_verdict_moves_with_good_votes(votes, data):
    """More good votes out of the same count never turn a keep into something worse."""
    good = data.draw(st.integers(0, votes))
    rank = {"drop": 0, "improve": 1, "keep": 2}
    verdict, interval = trial_verdict(good, votes)
    if votes < 30:
        assert (verdict, interval) == ("not_enough", None)
        return
    if good < votes:
        better, _ = trial_verdict(good + 1, votes)
        assert rank[better] >= rank[verdict]


# The safety form parser: anything a form can send.
form_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["nan", "NaN", "inf", "-Infinity", "1e309", "-1e309", "0x10", "1,5", "１２", "٣", "",
                     " ", "\x00", "=1+2", "<script>", "9" * 400, "-0", "2026-02-30", "2026-11-26T25:00",
                     "99999-01-01", "0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "true", "否"]),
    st.integers(-2**70, 2**70).map(str),
    st.floats().map(str),
)


def refs(register, ident):
    return object() if ident == 1 else None


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_form_parsing_accepts_only_clean_values(kind, data):
    fields = KINDS[kind].fields
    names = [f.name for f in fields]
    form = data.draw(st.dictionaries(st.sampled_from(names + ["extra", "id"]), form_text, max_size=len(names) + 2))
    now = dt.datetime(2026, 11, 26, 12, 0)
    try:
        clean = validate(KINDS[kind], form, refs, now, tz=dt.timezone(dt.timedelta(hours=8)))
    except EntryErrors as e:
        assert e.errors and all(isinstance(m, str) and m for m in e.errors.values())
        return
    assert set(clean) <= set(names) and set(form) <= set(names)
    for f in fields:
        if f.name not in clean:
            continue
        value = clean[f.name]
        if f.type in ("number", "integer"):
            assert not isinstance(value, bool) and math.isfinite(value)
            assert (f.min is None or value >= f.min) and (f.max is None or value <= f.max), (f.name, value)
        elif f.type == "text":
            assert "\x00" not in value and (not f.max or len(value) <= f.max)
        elif f.type == "datetime":
            when = dt.datetime.fromisoformat(value)
            assert 2000 <= when.year <= 2100 and when.tzinfo is None and when <= now + dt.timedelta(minutes=10) or not f.past
        elif f.type == "date":
            assert 2000 <= dt.date.fromisoformat(value).year <= 2100
