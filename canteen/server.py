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


def waitress_limits(config):
    """waitress's limits, chosen on purpose (README "Running it for real"): idle keep-alive
    connections close after CHANNEL_TIMEOUT, at most CONNECTION_LIMIT are open at once, a request
    line with headers is at most MAX_REQUEST_HEADER_BYTES and a body MAX_CONTENT_LENGTH (waitress
    answers 413 before the app reads it). Reading happens on waitress's own loop, so a slow
    client holds a connection, never one of the THREADS that answer the kiosks."""
    return {"threads": config["THREADS"], "connection_limit": config["CONNECTION_LIMIT"],
            "channel_timeout": config["CHANNEL_TIMEOUT"], "cleanup_interval": 2,
            "max_request_header_size": config["MAX_REQUEST_HEADER_BYTES"],
            "max_request_body_size": config["MAX_CONTENT_LENGTH"] + 64 * 1024,  # multipart framing
            "backlog": 1024, "ident": "canteen"}


def close_slow_requests(server, seconds):
    """Close connections whose request has been arriving for more than `seconds` (a client
    trickling its headers or body a byte at a time): waitress's channel_timeout only counts
    silence, so a trickle would keep a connection open for ever."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser

    class TimedParser(HTTPRequestParser):
        def __init__(self, adj):
            super().__init__(adj)
            self.begun = time.monotonic()  # made when the request's first byte arrives

    class Channel(HTTPChannel):
        parser_class = TimedParser

    server.channel_class = Channel
    routine = server.maintenance  # run by waitress's loop every cleanup_interval

    def maintenance(now):
        routine(now)
        cutoff = time.monotonic() - seconds
        for channel in list(server.active_channels.values()):
            partial = channel.request
            if partial is not None and not channel.requests and getattr(partial, "begun", cutoff) < cutoff:
                channel.will_close = True

    server.maintenance = maintenance
    return server


def serve(app, started=None):
    """Serve `app` on CANTEEN_HOST:CANTEEN_PORT until stopped (SIGTERM or Ctrl-C)."""
    from waitress.server import create_server

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
        server = create_server(app, host=host, port=port, **waitress_limits(app.config),
                               **waitress_proxy_options(app.config))
        close_slow_requests(server, app.config["REQUEST_READ_SECONDS"])
        server.print_listen("Serving on http://{}:{}")
        server.run()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        pid_file.unlink(missing_ok=True)
