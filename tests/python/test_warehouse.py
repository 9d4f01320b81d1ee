"""`feedback.core.warehouse.held`: the one connection a range run's steps go through their dates on,
on a real warehouse file."""

from __future__ import annotations

from datetime import date

import pytest

from feedback.core.warehouse import connect, held

RUN_DATE = "select getvariable('feedback_run_date')"


def test_inside_held_every_connect_lends_the_one_connection_for_its_date(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with held(path):
        with connect(path, date(2026, 3, 1)) as first:
            assert first.execute(RUN_DATE).fetchone() == (date(2026, 3, 1),)
        with connect(path, date(2026, 3, 2)) as second:
            assert second is first
            assert second.execute(RUN_DATE).fetchone() == (date(2026, 3, 2),)
        # without a date, the views answer for the date dbt built them for, as on a new connection
        with connect(path) as third:
            assert third is first
            assert third.execute(RUN_DATE).fetchone() == (None,)
    with connect(path) as after:
        assert after is not first
        assert after.execute("select count(*) from ledger.invitations").fetchone() == (0,)


def test_a_block_that_fails_in_a_transaction_leaves_the_held_connection_as_if_new(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with held(path):
        with pytest.raises(ZeroDivisionError), connect(path) as conn:
            conn.begin()
            conn.execute(
                "insert into privacy.masking_log"
                " (run_date, masked_at, record_kind, masking_cutoff, records_masked)"
                " values (current_date, now(), 'contact_event', current_date, 1)"
            )
            1 / 0  # noqa: B018
        with pytest.raises(ZeroDivisionError), connect(path):
            1 / 0  # noqa: B018  (and outside a transaction: nothing to roll back)
        with connect(path) as conn:
            conn.begin()  # no transaction left open
            assert conn.execute("select count(*) from privacy.masking_log").fetchone() == (0,)
            conn.commit()
