"""canteen's entry point: `python app.py` serves the app with waitress on :5000.

`flask --app app …` finds `app` here for the CLI commands (init-db, dishes, menu, …).
"""
import time

started = time.monotonic()

import sys  # noqa: E402

from canteen import create_app  # noqa: E402
from canteen.config import ConfigError  # noqa: E402

try:
    app = create_app()
except ConfigError as problem:  # a setting or the database that must be fixed first: say which
    if __name__ != "__main__":
        raise
    sys.exit(f"canteen: {problem}")

if __name__ == "__main__":
    from canteen.server import serve

    serve(app, started)
