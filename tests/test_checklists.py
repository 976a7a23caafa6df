"""The 4D rule engine, table-driven from the checklist itself: every item just inside and just
outside its limit, missing fields, the override file, and history that does not change."""
import datetime as dt
from types import SimpleNamespace

import pytest

from canteen.checklists.engine import (
    CHECKLIST_FILE,
    ChecklistError,
    NoContext,
    judge,
    load,
)
from canteen.safety.schema import KINDS

DAY = dt.date(2026, 11, 26)
CHECKLIST = load()


class Registers:
    """Register rows as the engine sees them (plain objects: the engine is pure)."""

    def __init__(self, unit_kind="cold_room", cert_expiry=DAY, supplier_expiry=DAY, checker=2, topics=()):
        self.rows = {
            ("unit", 1): SimpleNamespace(kind=unit_kind, checker_id=checker),
            ("staff", 1): SimpleNamespace(health_cert_expiry=cert_expiry),
            ("staff", 2): SimpleNamespace(health_cert_expiry=cert_expiry),
            ("supplier", 1): SimpleNamespace(licence_expiry=supplier_expiry),
        }
        self.topics = list(topics)

    def ref(self, register, ident):
        return self.rows.get((register, ident))

    def trainings(self, staff_id):
        return self.topics

    def meal_windows(self, day, meal):
        return [(dt.datetime.combine(day, dt.time(11)), dt.datetime.combine(day, dt.time(13)))]


def applicable(item):
    """Values that make the item's `when` hold."""
    values = {}
    for name, rule in (item.when or {}).items():
        if name == "unit.kind":
            values["unit"] = 1  # Registers() gives unit 1 the kind the item asks for
            continue
        if rule == "present":
            values[name] = 4 if name == "labelled_storage_temp" else "2026-11-26T08:00"
        elif isinstance(rule, dict):
            values[name] = rule["above"] + 1
        else:
            values[name] = rule[0]
    if item.kind == "procurement":
        values.setdefault("accepted", True)
    return values


def context_for(item, ok):
    unit_kind = next(iter((item.when or {}).get("unit.kind", ["cold_room"])))
    if item.check == "ref_attr_in":
        unit_kind = item.values[0] if ok else "dry"
    good, bad = DAY, DAY - dt.timedelta(days=1)
    return Registers(unit_kind=unit_kind, cert_expiry=good if ok else bad, supplier_expiry=good if ok else bad,
                     checker=1 if ok else 2, topics=[item.topic] if ok and item.topic else ["other"])


def boundary_cases(item):
    """(values, context, expected to pass) pairs at the edge of the item's rule."""
    base = applicable(item)
    check, f = item.check, item.field
    if check == "is_true":
        return [(dict(base, **{f: True}), NoContext(), True), (dict(base, **{f: False}), NoContext(), False)]
    if check == "is_false":
        return [(dict(base, **{f: False}), NoContext(), True), (dict(base, **{f: True}), NoContext(), False)]
    if check in ("above", "below"):
        inside = item.limit + (0.1 if check == "above" else -0.1)
        ctx = context_for(item, True)
        return [(dict(base, **{f: round(inside, 3)}), ctx, True), (dict(base, **{f: item.limit}), ctx, False)]
    if check in ("max", "min"):
        limit = item.limit + (base.get(item.limit_field, 0) if item.limit_field else 0)
        step = 0.1 if check == "max" else -0.1
        ctx = context_for(item, True)
        return [(dict(base, **{f: limit}), ctx, True), (dict(base, **{f: round(limit + step, 3)}), ctx, False)]
    if check == "not_in":
        return [(dict(base, **{f: "chlorine"}), NoContext(), True), (dict(base, **{f: item.values[0]}), NoContext(), False)]
    if check == "on_or_after_day":
        return [(dict(base, **{f: DAY.isoformat()}), NoContext(), True),
                (dict(base, **{f: (DAY - dt.timedelta(days=1)).isoformat()}), NoContext(), False)]
    if check in ("ref_date_valid", "ref_attr_in", "trained"):
        return [(dict(base, **{f: 1}), context_for(item, True), True), (dict(base, **{f: 1}), context_for(item, False), False)]
    if check == "matches_ref":
        return [(dict(base, **{f: 1, item.ref_field: 1}), context_for(item, True), True),
                (dict(base, **{f: 1, item.ref_field: 1}), context_for(item, False), False)]
    if check == "differ":
        return [(dict(base, **{f: 1, item.other: 2}), NoContext(), True), (dict(base, **{f: 1, item.other: 1}), NoContext(), False)]
    if check == "hours_between_min":
        start = dt.datetime(2026, 11, 24, 8, 0)
        return [(dict(base, **{item.other: start.isoformat(), f: (start + dt.timedelta(hours=item.limit)).isoformat()}), NoContext(), True),
                (dict(base, **{item.other: start.isoformat(), f: (start + dt.timedelta(hours=item.limit - 0.5)).isoformat()}), NoContext(), False)]
    if check == "during_meal":  # lunch 11:00–13:00 in Registers, taken from `limit` h before
        start = dt.datetime.combine(DAY, dt.time(11)) - dt.timedelta(hours=item.limit)
        ctx = context_for(item, True)
        return [(dict(base, **{f: start.isoformat(), item.other: "lunch"}), ctx, True),
                (dict(base, **{f: "2026-11-26T13:00", item.other: "lunch"}), ctx, True),
                (dict(base, **{f: (start - dt.timedelta(minutes=1)).isoformat(), item.other: "lunch"}), ctx, False),
                (dict(base, **{f: "2026-11-23T12:00", item.other: "lunch"}), ctx, False)]
    raise AssertionError(f"no cases for {check}")


@pytest.mark.parametrize("item", CHECKLIST.items, ids=lambda i: i.id)
def test_every_item_just_inside_and_just_outside_its_limit(item):
    for values, context, should_pass in boundary_cases(item):
        verdict = judge(item.kind, values, DAY, CHECKLIST, context)
        failed = {f.item for f in verdict.findings}
        assert (item.id not in failed) == should_pass, (item.id, values, verdict.findings)


@pytest.mark.parametrize("item", CHECKLIST.items, ids=lambda i: i.id)
def test_a_missing_field_is_not_judged_by_the_item(item):
    verdict = judge(item.kind, applicable(item), DAY, CHECKLIST, NoContext())
    assert item.id not in {f.item for f in verdict.findings}


def test_the_checklist_reads_only_fields_its_logs_have():
    for item in CHECKLIST.items:
        fields = {f.name for f in KINDS[item.kind].fields}
        named = {item.field, item.other, item.limit_field, item.ref_field} - {None}
        named |= {name.split(".")[0] for name in (item.when or {})}
        assert named <= fields, (item.id, named - fields)


def test_the_checklist_covers_every_d_and_every_log_kind():
    assert {i.d for i in CHECKLIST.items} == {"organisation", "responsibility", "training", "execution"}
    assert {i.kind for i in CHECKLIST.items} == set(KINDS)


def test_findings_carry_id_d_severity_value_limit_and_both_languages():
    verdict = judge("cooking", {"core_temp": 65, "holding": "none", "operator": 9}, DAY, CHECKLIST, NoContext())
    assert verdict.verdict == "fail" and verdict.version == CHECKLIST.version
    (finding,) = verdict.findings
    assert (finding.item, finding.d, finding.severity, finding.value, finding.limit) == \
        ("COOK-01", "execution", "critical", 65, 70)
    assert finding.message("zh_CN").startswith("烹饪中心温度") and "70" in finding.message("en")
    assert judge("cooking", {"core_temp": 75, "holding": "none"}, DAY, CHECKLIST, NoContext()).verdict == "pass"


def test_an_override_tightens_a_threshold_and_names_itself_in_the_version(tmp_path):
    override = tmp_path / "override.toml"
    override.write_text('[items.STOR-03]\nlimit = -18\n\n[items.STOR-04]\nseverity = "major"\n')
    tightened = load(override=override)
    assert tightened.version.startswith(CHECKLIST.version + "+") and tightened.version != CHECKLIST.version
    reading = {"unit": 1, "temperature": -15}
    ctx = Registers(unit_kind="freezer")
    assert "STOR-03" not in {f.item for f in judge("storage", reading, DAY, CHECKLIST, ctx).findings}
    assert "STOR-03" in {f.item for f in judge("storage", reading, DAY, tightened, ctx).findings}


@pytest.mark.parametrize("text,words", [
    ('[items.NOPE-1]\nlimit = 1\n', "no checklist item"),
    ('[items.STOR-03]\nfield = "x"\n', "may only change"),
    ('[items.STOR-03]\nseverity = "fatal"\n', "severity"),
])
def test_a_bad_override_is_explained(tmp_path, text, words):
    override = tmp_path / "override.toml"
    override.write_text(text)
    with pytest.raises(ChecklistError, match=words):
        load(override=override)


def test_the_engine_is_deterministic():
    entry = {"supplier": 1, "use_by": "2026-11-20", "storage_class": "chilled", "arrival_temp": 12,
             "labelled_storage_temp": 4, "sensory_ok": False, "received_by": 1}
    ctx = Registers(cert_expiry=DAY - dt.timedelta(days=5))
    first = judge("procurement", entry, DAY, CHECKLIST, ctx)
    for _ in range(20):
        again = judge("procurement", dict(entry), DAY, CHECKLIST, ctx)
        assert [f.as_dict() for f in again.findings] == [f.as_dict() for f in first.findings]


def test_the_shipped_checklist_file_is_the_default():
    assert load(CHECKLIST_FILE).version == CHECKLIST.version
