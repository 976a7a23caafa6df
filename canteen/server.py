"""Serving the app with waitress, the scheduler beside it: `python app.py` and `python -m canteen`."""
import logging
import os
import signal
import sys
import time
from pathlib import Path


def waitress_proxy_options(config):
    """With CANTEEN_PROXY_FIX, waitress keeps the X-Forwarded-For/-Proto headers of the one
    proxy it trusts (CANTEEN_TRUSTED_PROXY) and drops them from anyone else; ProxyFix (set up in
    create_app) then reads the same single hop. Without it, waitress drops them all."""
    if not config["PROXY_FIX"]:
        return {"clear_untrusted_proxy_headers": True}
    return {"trusted_proxy": config["TRUSTED_PROXY"], "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
            "clear_untrusted_proxy_headers": True}


def serve(app, started=None):
    """Serve `app` on CANTEEN_HOST:CANTEEN_PORT until stopped (SIGTERM or Ctrl-C)."""
    from waitress import serve as waitress_serve

    from .jobs.scheduler import start_in_background

    # waitress ends on SIGTERM without running atexit handlers; exit cleanly instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host, port = app.config["HOST"], app.config["PORT"]
    ready = f"ready in {time.monotonic() - started:.2f} s; " if started is not None else ""
    print(f"canteen: kiosk at http://{host}:{port}/kiosk ({ready}database {app.config['DATABASE_URL']})",
          flush=True)
    pid_file = Path(app.instance_path) / "canteen.pid"  # `flask restore` refuses while we serve
    scheduler = None
    try:
        pid_file.write_text(str(os.getpid()))
        if app.config["SCHEDULER"]:  # one process: web and scheduled jobs together
            scheduler = start_in_background(app)
        # Threads and connection limits chosen by measurement: see bench/load.py and the README.
        waitress_serve(app, host=host, port=port, threads=app.config["THREADS"],
                       connection_limit=256, channel_timeout=30, backlog=1024, ident="canteen",
                       **waitress_proxy_options(app.config))
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        pid_file.unlink(missing_ok=True)
