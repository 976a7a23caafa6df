"""`python -m canteen` serves exactly as `python app.py` does (for installs from a wheel).

The instance folder (database, secret key, photos) is ./instance in the current directory
unless CANTEEN_INSTANCE_PATH names another.
"""
import os
import sys
import time

started = time.monotonic()

from canteen import create_app  # noqa: E402
from canteen.config import ConfigError  # noqa: E402
from canteen.server import serve  # noqa: E402

if __name__ == "__main__":
    os.environ.setdefault("CANTEEN_INSTANCE_PATH", os.path.join(os.getcwd(), "instance"))
    try:
        app = create_app()
    except ConfigError as problem:  # a setting or the database that must be fixed first: say which
        sys.exit(f"canteen: {problem}")
    serve(app, started)
