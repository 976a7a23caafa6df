"""The API against its own contract: schemathesis fuzzes every operation of
/api/v1/openapi.json (all checks, stateful links included) with a manager token and a paired
kiosk, on SQLite and PostgreSQL, and any finding fails the suite.

One check is left out: `positive_data_acceptance` (ST202) expects every schema-valid request to
be accepted, but some validity lives on the server and no schema can say it: a QR token must
carry our signature, a photo name must be a stored upload, a dish must be on today's menu.
"""
import datetime as dt
import os
import subprocess
import sys
import threading

import pytest
from werkzeug.serving import make_server

from canteen.models import database
from canteen.office.accounts import ApiToken, Kiosk
from canteen.safety.models import Staff, StorageUnit, Supplier

from .conftest import add_dish, close_pool, make_app

EXAMPLES = int(os.environ.get("CANTEEN_FUZZ_EXAMPLES", "25"))


@pytest.mark.timeout(660)  # the schemathesis run below has 600 s of its own
def test_schemathesis_finds_nothing(db_url, tmp_path):
    app = make_app(db_url, tmp_path, TESTING=False)
    with app.app_context(), database.connection_context():
        add_dish("臊子面", "Saozi noodles")
        add_dish("米饭", "Steamed rice", 50)
        # register rows with id 1 (a value the fuzzer tries first), so that entries can be stored
        # and the stateful run can amend them
        cook = Staff.create(name="王建国", job="厨师长", health_cert_no="HC-1",
                            health_cert_expiry=dt.date.today() + dt.timedelta(days=300))
        Supplier.create(name="肉联厂", licence_no="SC1", licence_expiry=dt.date.today() + dt.timedelta(days=300))
        StorageUnit.create(name="1号冷库", kind="cold_room", owner=cook, checker=cook)
        _row, token = ApiToken.issue("fuzz", "manager")
        kiosk = Kiosk.create(name="exit-1")
        code = kiosk.new_pairing_code()
        kiosk.save()
        _kiosk, credential = Kiosk.redeem(code)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/api/v1"
    try:
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json", "--url", base,
             "-H", f"Authorization: Bearer {token}", "-H", f"Cookie: canteen_kiosk={credential}",
             "--checks", "all", "--exclude-checks", "positive_data_acceptance",
             "--max-examples", str(EXAMPLES), "--seed", "15", "--no-color", "--request-timeout", "20"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    finally:
        server.shutdown()
        close_pool()
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
