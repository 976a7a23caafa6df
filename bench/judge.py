"""How fast the 4D engine judges log entries: 100 000 mixed entries, pure Python.

    python bench/judge.py [--records 100000]

The baseline, measured in the same run, is the entries' validation (canteen/safety/schema.py)
over the same data, so the ratio says what judging adds to saving.
"""
import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from canteen.checklists.engine import judge, load  # noqa: E402
from canteen.safety.schema import KINDS, validate  # noqa: E402

DAY = dt.date(2026, 11, 26)


class Registers:
    def __init__(self):
        self.rows = {("unit", 1): SimpleNamespace(kind="freezer", checker_id=2),
                     ("staff", 1): SimpleNamespace(health_cert_expiry=DAY),
                     ("staff", 2): SimpleNamespace(health_cert_expiry=DAY - dt.timedelta(days=2)),
                     ("supplier", 1): SimpleNamespace(licence_expiry=DAY)}

    def ref(self, register, ident):
        return self.rows.get((register, ident))

    def trainings(self, staff_id):
        return ["tableware"]


def entries(n, rng):
    made = []
    for i in range(n):
        kind = ("storage", "cooking", "tableware", "health_check")[i % 4]
        if kind == "storage":
            e = {"unit": 1, "temperature": rng.uniform(-25, -5), "off_floor_cm": rng.choice((5, 15)),
                 "off_wall_cm": 12, "labels_ok": True, "fifo_ok": rng.random() > .1, "raw_cooked_separated": True,
                 "expired_found": rng.choice((0, 0, 1)), "expired_action": "discarded", "inspected_by": 2}
        elif kind == "cooking":
            e = {"meal": "lunch", "dish": 1, "core_temp": rng.uniform(60, 95), "holding": "hot",
                 "holding_temp": rng.uniform(50, 75), "holding_minutes": rng.choice((60, 150)), "operator": 1}
        elif kind == "tableware":
            e = {"meal": "lunch", "items": "碗", "scraped": True, "washed": True, "rinsed": True,
                 "method": "chemical", "concentration_mg_l": rng.choice((200, 250, 300)),
                 "duration_min": rng.choice((3, 5, 10)), "visual_ok": True, "stored_clean": True, "operator": 1}
        else:
            e = {"staff": rng.choice((1, 2)), "shift": "early", "fever": rng.random() < .05, "diarrhoea": False,
                 "vomiting": False, "sore_throat": False, "hand_wound": False, "hair_covered": True,
                 "no_jewellery": True, "fit_for_work": True, "checked_by": rng.choice((1, 2))}
        made.append((kind, e))
    return made


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    n = parser.parse_args().records
    data = entries(n, random.Random(7))
    checklist, ctx = load(), Registers()
    refs = lambda kind, ident: object() if ident in (1, 2) else None  # noqa: E731
    now = dt.datetime(2026, 11, 26, 12)

    started = time.perf_counter()
    for kind, e in data:
        validate(KINDS[kind], e, refs, now)
    baseline = time.perf_counter() - started

    started = time.perf_counter()
    failed = sum(judge(kind, e, DAY, checklist, ctx).verdict == "fail" for kind, e in data)
    judging = time.perf_counter() - started
    print(f"{n} entries: validation {baseline:.2f} s (baseline), judging {judging:.2f} s "
          f"= {n / judging:,.0f} entries/s, ratio {judging / baseline:.2f}; {failed} failed")


if __name__ == "__main__":
    main()
