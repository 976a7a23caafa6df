"""The vote path's machinery: SQL built once, and commits shared by concurrent votes on SQLite."""
import threading
import time

import pytest
from peewee import IntegrityError

from canteen import db
from canteen.feedback.models import Rating
from canteen.models import AppSetting, database


def test_prepared_sql_is_built_once_and_refuses_parameters_in_another_order(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        def build(dish, score):
            return Rating.select(Rating.id).where((Rating.dish == dish) & (Rating.score == score))

        sql = db.prepared("test.by-dish-score", build, (7, 3))
        assert sql.count("?") == 2
        assert db.prepared("test.by-dish-score", lambda *_: pytest.fail("built again"), (8, 4)) == sql

        def swapped(dish, score):
            return Rating.select(Rating.id).where((Rating.score == score) & (Rating.dish == dish))

        with pytest.raises(ValueError, match="takes its parameters as"):
            db.prepared("test.swapped", swapped, (7, 3))


def test_waiting_writes_share_one_commit_and_a_failing_one_fails_alone(sqlite_app):
    with sqlite_app.app_context(), database.connection_context():
        AppSetting.create(key="taken", value="before")
    keys = [f"k{i}" for i in range(6)] + ["taken"]
    results, errors = {}, {}

    def write(key):
        with sqlite_app.app_context(), database.connection_context():
            try:
                results[key] = db.grouped_write(lambda: AppSetting.insert(key=key, value="x").execute() and key)
            except IntegrityError as e:
                errors[key] = e

    threads = [threading.Thread(target=write, args=(k,)) for k in keys]
    with db._sqlite_writer:  # a commit in progress: the writes queue up behind it
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(db._queue) < len(keys) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(db._queue) == len(keys)  # all waiting: the next turn commits them together
    for t in threads:
        t.join(10)
    assert db._queue == []
    assert results == {k: k for k in keys[:-1]}
    assert list(errors) == ["taken"]  # the duplicate's savepoint was rolled back, not the group
    with sqlite_app.app_context(), database.connection_context():
        stored = {s.key: s.value for s in AppSetting.select().where(AppSetting.key.in_(keys))}
    assert stored == dict({k: "x" for k in keys[:-1]}, taken="before")
