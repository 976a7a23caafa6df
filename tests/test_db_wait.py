"""The bound on waiting for PostgreSQL (CANTEEN_DB_WAIT_SECONDS): a query the server does not
answer in time fails with an outage error and its connection is dropped; one within the bound
is never cut short. (The frozen-server case with real processes: tests/reliability.)"""
import time

import pytest
from peewee import OperationalError

from canteen.models import database

from .conftest import close_pool, make_app


@pytest.fixture
def pg_app(postgres_url, tmp_path):
    close_pool()
    app = make_app(postgres_url, tmp_path, DB_WAIT_SECONDS=1.5)
    yield app
    close_pool()
    make_app(postgres_url, tmp_path / "default")  # later tests get the default bound back
    close_pool()


@pytest.mark.timeout(30)
def test_a_query_within_the_bound_runs_to_the_end(pg_app):
    with database.connection_context():
        began = time.monotonic()
        assert database.execute_sql("SELECT pg_sleep(1.2), 7").fetchone()[1] == 7
        assert 1.2 <= time.monotonic() - began < 1.5


@pytest.mark.timeout(30)
def test_a_query_past_the_bound_fails_and_its_connection_is_dropped(pg_app):
    from canteen.web import is_outage

    database.connect()
    raw = database.connection()
    began = time.monotonic()
    with pytest.raises(OperationalError) as failure:
        database.execute_sql("SELECT pg_sleep(5)")
    assert 1.5 <= time.monotonic() - began < 2.5
    assert "did not answer within 1.5 s" in str(failure.value)
    assert is_outage(failure.value)  # answered 503 by the app
    assert raw.closed  # psycopg2 closed it: the pool never hands it out again
    database.close()
    with database.connection_context():
        assert database.connection() is not raw
        assert database.execute_sql("SELECT 1").fetchone() == (1,)


def test_the_default_leaves_room_for_long_reports():
    from canteen.config import DEFAULTS

    assert DEFAULTS["DB_WAIT_SECONDS"] >= 30
