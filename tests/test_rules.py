"""The rule fixes of checklist 2026.2 (issue 14), each as the case that was judged wrong."""
import datetime as dt

import pytest

from canteen.checklists.engine import judge, load
from canteen.safety.schema import KINDS, EntryErrors, validate

from .test_checklists import DAY, Registers

CHECKLIST = load()
NOW = dt.datetime.combine(DAY, dt.time(12, 30))


def items(kind, **values):
    return {f.item for f in judge(kind, values, DAY, CHECKLIST, Registers(unit_kind=values.pop("_unit", "fridge"))
                                  ).findings}


def finding(kind, item, **values):
    return next(f for f in judge(kind, values, DAY, CHECKLIST, Registers(unit_kind="dry")).findings
                if f.item == item)


def test_the_version_is_2026_2():
    assert CHECKLIST.version == "2026.2"


def test_livestock_meat_needs_its_quarantine_certificate_whatever_its_category():
    frozen_pork = {"accepted": True, "category": "frozen", "livestock_poultry": True, "quarantine_checked": False}
    assert "PROC-13" in items("procurement", **frozen_pork)
    assert "PROC-13" not in items("procurement", **dict(frozen_pork, quarantine_checked=True))
    assert "PROC-13" not in items("procurement", **dict(frozen_pork, livestock_poultry=False))
    refs = lambda kind, ident: object()  # noqa: E731
    base = {"supplier": 1, "item": "冻猪肉", "quantity": 10, "qty_unit": "kg", "licence_checked": True,
            "certificate_checked": True, "sensory_ok": True, "package_ok": True, "storage_class": "frozen",
            "arrival_temp": -15, "accepted": True, "received_by": 1}
    with pytest.raises(EntryErrors) as e:
        validate(KINDS["procurement"], dict(base, category="frozen"), refs, NOW)
    assert set(e.value.errors) == {"livestock_poultry"}  # frozen goods: say whether it is meat
    with pytest.raises(EntryErrors) as e:
        validate(KINDS["procurement"], dict(base, category="frozen", livestock_poultry=True), refs, NOW)
    assert set(e.value.errors) == {"quarantine_checked"}


def test_every_disinfectant_needs_strength_and_time_and_chemical_tableware_a_rinse():
    assert "PROD-08" in items("produce_wash", raw_eaten=True, disinfectant="other", concentration_mg_l=0,
                              soak_minutes=10)
    assert "PROD-05" in items("produce_wash", raw_eaten=True, disinfectant="other", concentration_mg_l=200,
                              soak_minutes=3)
    assert "PROD-04" in items("produce_wash", raw_eaten=False, disinfectant="chlorine", concentration_mg_l=50,
                              soak_minutes=10)
    assert "TABL-16" in items("tableware", method="chemical", rinsed_after=False)
    assert "TABL-16" not in items("tableware", method="heat", rinsed_after=False)


@pytest.mark.parametrize("kind, values, item", [
    ("storage", {"unit": 1, "temperature": 8.0}, "STOR-01"),
    ("cooking", {"holding": "cold", "holding_temp": 8.0}, "COOK-03"),
])
def test_zero_to_eight_is_inclusive_everywhere(kind, values, item):
    assert item not in items(kind, **values)
    field = "temperature" if kind == "storage" else "holding_temp"
    assert item in items(kind, **dict(values, **{field: 8.1}))


def test_a_freezer_override_is_inclusive_at_its_limit(tmp_path):
    override = tmp_path / "o.toml"
    override.write_text("[items.STOR-03]\nlimit = -18\n")
    strict = load(override=str(override))
    judged = lambda t: {f.item for f in judge("storage", {"unit": 1, "temperature": t}, DAY, strict,  # noqa: E731
                                              Registers(unit_kind="freezer")).findings}
    assert "STOR-03" not in judged(-18.0) and "STOR-03" in judged(-17.9)


def test_a_sample_belongs_in_the_sample_fridge_at_0_to_8_during_its_meal():
    wrong_place = finding("sample", "SAMP-03", fridge=1)
    assert wrong_place.severity == "major"
    assert "SAMP-06" in items("sample", fridge_temp=9)
    assert "SAMP-07" in items("sample", fridge_temp=-2)
    assert "SAMP-08" in items("sample", meal="lunch", stored_at="2026-11-23T11:30")  # days before its meal
    assert "SAMP-08" not in items("sample", meal="lunch", stored_at="2026-11-26T11:30")


def test_reheating_is_judged_and_soy_products_are_chilled():
    assert "COOK-05" in items("cooking", reheated=True, reheat_temp=65)
    assert "COOK-05" not in items("cooking", reheated=True, reheat_temp=72)
    assert "PROC-14" in items("procurement", accepted=True, category="soy", storage_class="ambient")
    tofu = {"accepted": True, "category": "soy", "storage_class": "chilled", "arrival_temp": 9}
    assert "PROC-09" in items("procurement", **tofu) and "PROC-14" not in items("procurement", **tofu)


def test_a_rejected_delivery_needs_no_fields_its_rejection_made_moot():
    refs = lambda kind, ident: object()  # noqa: E731
    rejected = {"supplier": 1, "item": "猪肉", "category": "meat", "quantity": 20, "qty_unit": "kg",
                "licence_checked": True, "certificate_checked": True, "sensory_ok": False, "package_ok": True,
                "storage_class": "chilled", "accepted": False, "reject_reason": "smells off", "received_by": 1}
    assert validate(KINDS["procurement"], rejected, refs, NOW)["accepted"] is False
    with pytest.raises(EntryErrors) as e:
        validate(KINDS["procurement"], dict(rejected, accepted=True), refs, NOW)
    assert set(e.value.errors) == {"labelled_storage_temp", "arrival_temp", "quarantine_checked"}


def test_each_item_sits_in_the_d_the_4d_definitions_give_it():
    d = {i.id: i.d for i in CHECKLIST.items}
    organisation = ("STOR-04", "STOR-05", "STOR-06", "STOR-07", "STOR-08", "STOR-09", "SAMP-03")
    assert {d[i] for i in organisation} == {"organisation"}  # placed, labelled, FIFO, nothing expired
    assert {d[i] for i in ("TRAN-02", "TRAN-03", "TRAN-07", "TABL-13")} == {"execution"}
    assert {d[i] for i in ("STOR-10", "HLTH-09")} == {"responsibility"}
    assert {i.d for i in CHECKLIST.items if i.check in ("trained",) or i.attribute == "health_cert_expiry"} \
        == {"training"}
