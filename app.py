"""canteen's entry point: `python app.py` serves the app with waitress on :5000.

`flask --app app …` finds `app` here for the CLI commands (init-db, dishes, menu, …).
"""
import time

started = time.monotonic()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from canteen import create_app  # noqa: E402

app = create_app()


def serve():
    from waitress import serve as waitress_serve

    # waitress ends on SIGTERM without running atexit handlers; exit cleanly instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host, port = app.config["HOST"], app.config["PORT"]
    print(f"canteen: kiosk at http://{host}:{port}/kiosk "
          f"(ready in {time.monotonic() - started:.2f} s; database {app.config['DATABASE_URL']})",
          flush=True)
    pid_file = Path(app.instance_path) / "canteen.pid"  # `flask restore` refuses while we serve
    scheduler = None
    try:
        pid_file.write_text(str(os.getpid()))
        if app.config["SCHEDULER"]:  # one process: web and scheduled jobs together
            from canteen.jobs.scheduler import start_in_background
            scheduler = start_in_background(app)
        # Threads and connection limits chosen by measurement: see bench/load.py and the README.
        waitress_serve(app, host=host, port=port, threads=app.config["THREADS"],
                       connection_limit=256, channel_timeout=30, backlog=1024, ident="canteen")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    serve()
