"""How long `verify-audit` takes as the food-safety logs grow, and what binding costs a save.

    python bench/audit.py [--entries 2000 10000] [--repeat 3]

A canteen logs about 40 entries a day (≈ 15 000 a year). N storage readings are saved
through the app's own service (each bound into the keyed chain with its verdict), then
timed on SQLite (median of --repeat runs):

- a full verification (chain, anchor, every covered row recomputed);
- the baseline, in the same run: the same rows and entries only read (SELECT of every
  covered table and of the chain), so the ratio shows what the hashing adds;
- the save: mean time of one entry through `service.create` (validation, 4D verdict, audit).
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from canteen import audit, create_app  # noqa: E402
from canteen.models import database  # noqa: E402
from canteen.safety import service  # noqa: E402
from canteen.safety.models import Staff, StorageUnit  # noqa: E402


def run(n, repeat):
    folder = tempfile.mkdtemp()
    app = create_app({"DEMO": False, "SECRET_KEY": "bench", "INSTANCE_PATH": folder,
                      "DATABASE_URL": f"sqlite:///{folder}/bench.db"})
    with app.app_context(), database.connection_context():
        cook = Staff.create(name="王师傅")
        unit = StorageUnit.create(name="冷库", kind="cold_room", owner=cook, checker=cook)
        audit.seal("bench", "bench.registers")
        started = time.perf_counter()
        for i in range(n):
            service.create("storage", {"unit": unit.id, "temperature": 3 + (i % 70) / 10, "off_floor_cm": 15,
                                       "off_wall_cm": 10, "labels_ok": True, "fifo_ok": True,
                                       "raw_cooked_separated": True, "expired_found": 0,
                                       "inspected_by": cook.id}, "user:bench")
        save_ms = 1000 * (time.perf_counter() - started) / n
        full, bare = [], []
        for _ in range(repeat):
            t = time.perf_counter()
            report = audit.verify()
            full.append(time.perf_counter() - t)
            assert report.ok, report.first
            t = time.perf_counter()
            list(audit.AuditEntry.select().tuples())
            for model in audit.COVERED.values():
                list(model.select().dicts())
            bare.append(time.perf_counter() - t)
    database.obj.close_all()
    f, b = statistics.median(full), statistics.median(bare)
    print(f"{n:>7} entries ({report.entries} audit entries): verify {1000 * f:7.0f} ms, "
          f"read only {1000 * b:6.0f} ms, ratio {f / b:4.1f}×; one save {save_ms:5.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in args.entries:
        run(n, args.repeat)
