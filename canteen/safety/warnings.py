"""Warnings shown the moment an entry is saved: possible, recorded, but unsafe.

The entry is stored either way (the record is the evidence); these tell the person at the
tablet what to do now. The formal verdict comes from the 4D checklists. Thresholds are the
defaults of ../shared/domain/food-safety.md.
"""
import datetime as dt

from flask_babel import lazy_gettext as _l

CHILLED_MAX = 8.0
FROZEN_MAX = -12.0
FROZEN_ARRIVAL_MAX = -9.0
CHILLED_ARRIVAL_MARGIN = 3.0


def _date(text):
    return dt.date.fromisoformat(text) if text else None


def warnings_for(kind, e, refs, today):
    """Messages (lazy strings) for an entry `e` of `kind` that is possible but unsafe."""
    out = []
    add = out.append
    if kind == "procurement":
        supplier = refs("supplier", e["supplier"])
        if supplier is not None and supplier.licence_expiry and supplier.licence_expiry < today:
            add(_l("The supplier's licence expired on %(day)s: reject the goods.", day=supplier.licence_expiry))
        if e.get("use_by") and _date(e["use_by"]) < today:
            add(_l("These goods are past their use-by date: reject them."))
        if e.get("storage_class") == "chilled" and e.get("arrival_temp") is not None:
            limit = (e.get("labelled_storage_temp") if e.get("labelled_storage_temp") is not None
                     else CHILLED_MAX - CHILLED_ARRIVAL_MARGIN) + CHILLED_ARRIVAL_MARGIN
            if e["arrival_temp"] > limit:
                add(_l("Chilled goods arrived at %(t)s ℃, above %(limit)s ℃: reject them.",
                       t=e["arrival_temp"], limit=limit))
        if e.get("storage_class") == "frozen" and e.get("arrival_temp") is not None \
                and e["arrival_temp"] > FROZEN_ARRIVAL_MAX:
            add(_l("Frozen goods arrived at %(t)s ℃, above −9 ℃: reject them.", t=e["arrival_temp"]))
        if not e.get("sensory_ok") or not e.get("package_ok"):
            add(_l("Spoiled, dirty or damaged goods must not be accepted."))
        if not e.get("licence_checked") or not e.get("certificate_checked") or \
                (e.get("category") in ("meat", "poultry") and not e.get("quarantine_checked")):
            add(_l("A certificate was not checked: do not accept the goods without it."))
    elif kind == "transport":
        t = e.get("transit_temp")
        if t is not None and ((e["load_type"] == "chilled" and t > CHILLED_MAX) or
                              (e["load_type"] == "frozen" and t > FROZEN_MAX)):
            add(_l("The load was too warm in transit (%(t)s ℃).", t=t))
        if not all(e.get(k) for k in ("vehicle_cleaned", "food_apart_from_nonfood", "raw_categories_apart",
                                      "seal_intact")):
            add(_l("Transport conditions were not met: check the goods before accepting them."))
    elif kind == "storage":
        unit = refs("unit", e["unit"])
        t = e.get("temperature")
        if unit is not None and t is not None:
            if unit.kind in ("cold_room", "fridge", "sample_fridge") and not 0 <= t <= CHILLED_MAX:
                add(_l("%(unit)s is at %(t)s ℃, outside 0–8 ℃.", unit=unit.name, t=t))
            if unit.kind == "freezer" and t > FROZEN_MAX:
                add(_l("%(unit)s is at %(t)s ℃, warmer than −12 ℃.", unit=unit.name, t=t))
        if e["off_floor_cm"] < 10 or e["off_wall_cm"] < 10:
            add(_l("Shelves must stand at least 10 cm off the floor and the wall."))
        if e["expired_found"]:
            add(_l("Expired food was found: remove it and record what was done."))
    elif kind == "produce_wash":
        if e.get("raw_eaten") and (e.get("disinfectant") in (None, "none")
                                   or (e.get("concentration_mg_l") or 0) < 100):
            add(_l("Produce eaten raw must be disinfected (e.g. 100 mg/L available chlorine) and rinsed."))
    elif kind == "tableware":
        m, t, c = e["method"], e.get("temperature_c"), e.get("concentration_mg_l")
        minutes, rinse = e.get("duration_min"), e.get("rinse_seconds")
        weak = ((m == "heat" and ((t or 0) < 100 or (minutes or 0) < 10)) or
                (m == "infrared" and ((t or 0) < 120 or (minutes or 0) < 10)) or
                (m == "chemical" and ((c or 0) < 250 or (minutes or 0) < 5)) or
                (m == "dishwasher" and ((t or 0) < 85 or (rinse or 0) < 40)))
        if weak:
            add(_l("Disinfection was too short, too cool or too weak: disinfect the tableware again."))
        if not e.get("visual_ok"):
            add(_l("The tableware is not clean: wash and disinfect it again."))
    elif kind == "cooking":
        if e["core_temp"] < 70:
            add(_l("The core temperature is below 70 ℃: cook on."))
        hold, ht, hm = e.get("holding"), e.get("holding_temp"), e.get("holding_minutes")
        if hold == "hot" and ht is not None and ht <= 60 and (hm or 0) > 120:
            add(_l("Held below 60 ℃ for over 2 hours: reheat to 70 ℃ or discard."))
        if hold == "cold" and ht is not None and ht >= 8:
            add(_l("Held cold at %(t)s ℃, not below 8 ℃.", t=ht))
    elif kind == "sample":
        if e["weight_g"] < 125 or not e.get("sealed"):
            add(_l("A retained sample needs at least 125 g in a sealed container."))
        if e.get("discarded_at") and (dt.datetime.fromisoformat(e["discarded_at"]) -
                                      dt.datetime.fromisoformat(e["stored_at"])) < dt.timedelta(hours=48):
            add(_l("The sample was discarded before 48 hours had passed."))
    elif kind == "health_check":
        person = refs("staff", e["staff"])
        if person is not None and (person.health_cert_expiry is None or person.health_cert_expiry < today):
            add(_l("%(name)s has no valid health certificate: no food work until it is renewed.", name=person.name))
        ill = any(e.get(k) for k in ("fever", "diarrhoea", "vomiting", "sore_throat", "hand_wound"))
        if ill and e.get("fit_for_work"):
            add(_l("A worker with these symptoms must leave food work today."))
        if not e.get("hair_covered") or not e.get("no_jewellery"):
            add(_l("Hair must be covered, rings and nail polish off, before work."))
    return out
