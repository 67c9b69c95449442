"""Prepared statements give the same answers as ``Connection.execute``, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    exc,
    insert,
    select,
    update,
)
from tests.workspace.conftest import PG_TEST, _postgres_or_skip

from pilothouse.workspace.prepared import Prepared
from pilothouse.workspace.schema import UTCDateTime

meta = MetaData()
probe = Table(
    "prepared_probe",
    meta,
    Column("id", String(20), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=True),
)

INSERT = Prepared(insert(probe))
BY_ID = Prepared(select(probe).where(probe.c.id == bindparam("id")))
BUMP = Prepared(
    update(probe)
    .where(probe.c.id == bindparam("id"))
    .values(n=probe.c.n + 5)
    .returning(probe.c.n, probe.c.at)
)
WHEN = datetime(2026, 12, 2, 10, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = create_engine(f"sqlite:///{tmp_path / 'probe.db'}")
    else:
        _postgres_or_skip()
        made = create_engine(PG_TEST)
    meta.drop_all(made)
    meta.create_all(made)
    yield made
    meta.drop_all(made)
    made.dispose()


def test_rows_and_types_match_sqlalchemy(engine: Engine):
    with engine.begin() as conn:
        INSERT.execute(conn, {"id": "a", "n": 1, "flag": True, "at": WHEN})
        INSERT.execute(conn, {"id": "b", "n": 2, "flag": False, "at": None})
    with engine.begin() as conn:
        for key in ("a", "b"):
            ours = BY_ID.first(conn, {"id": key})
            theirs = conn.execute(select(probe).where(probe.c.id == key)).one()
            assert tuple(ours) == tuple(theirs)
            assert ours.flag is theirs.flag and ours.at == theirs.at
        assert BY_ID.first(conn, {"id": "missing"}) is None
        assert BY_ID.first(conn, {"id": "a"}).at == WHEN


def test_literals_in_the_statement_and_returning(engine: Engine):
    with engine.begin() as conn:
        INSERT.execute(conn, {"id": "a", "n": 1, "flag": True, "at": WHEN})
        assert BUMP.scalar(conn, {"id": "a"}) == 6
        row = BUMP.first(conn, {"id": "a"})
        assert (row.n, row.at) == (11, WHEN)
        with pytest.raises(exc.NoResultFound):
            BUMP.scalar(conn, {"id": "nobody"})


def test_driver_errors_are_sqlalchemy_errors_and_roll_back(engine: Engine):
    with engine.begin() as conn:
        INSERT.execute(conn, {"id": "a", "n": 1, "flag": True, "at": None})
    with pytest.raises(exc.IntegrityError), engine.begin() as conn:
        INSERT.execute(conn, {"id": "b", "n": 1, "flag": True, "at": None})
        INSERT.execute(conn, {"id": "a", "n": 2, "flag": False, "at": None})
    with engine.begin() as conn:
        assert [r.id for r in conn.execute(select(probe.c.id))] == ["a"]


def test_bad_use_fails_loudly(engine: Engine):
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="missing parameter 'id'"):
            BY_ID.execute(conn, {})
        expanding = Prepared(select(probe).where(probe.c.id.in_(bindparam("ids", expanding=True))))
        with pytest.raises(ValueError, match="not a plain statement"):
            expanding.execute(conn, {"ids": ["a"]})
