"""canteen's entry point: `python app.py` serves the app with waitress on :5000.

`flask --app app …` finds `app` here for the CLI commands (init-db, dishes, menu, …).
"""
import time

started = time.monotonic()

from canteen import create_app  # noqa: E402

app = create_app()

if __name__ == "__main__":
    from canteen.server import serve

    serve(app, started)
