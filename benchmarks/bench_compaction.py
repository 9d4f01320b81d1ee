"""`make bench-compaction`: what rewriting `warehouse.duckdb` after masking costs.

Builds a warehouse of the benchmark's size (values made from hashes, so that they compress about
as badly as real names and addresses) (by default 1 million customers over two years: about
10 million contact rows, 2 million KCM responses, the ledger of the invitations, and a
contact-outcomes mart of the same length) straight in DuckDB, masks one day's worth of records as
the daily masking step does, then runs the compaction of `feedback.privacy.masking` in a
process of its own and prints its time, the file's size before and after, and the process's
peak memory.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from feedback.core.warehouse import ensure_schema  # noqa: E402

DAYS = 730

COMPACT = """
import sys
from pathlib import Path
from feedback.privacy.masking import compact_warehouse
from feedback.core.settings import Settings
settings = Settings(data_dir=Path(sys.argv[1]), messages=None, smtp=None)
assert compact_warehouse(settings)
"""


def make_warehouse(path: Path, customers: int) -> None:
    conn = duckdb.connect(str(path))
    ensure_schema(conn)
    contacts = customers * 10
    conn.execute(
        """
        insert into raw.contact_events
        select
            'e-' || i,
            'K' || (i % $customers),
            ['new_policy', 'service_question', 'claim_reported', 'invoice_declared',
             'details_changed', 'cancellation'][1 + i % 6],
            strftime(timestamp '2024-11-25 08:00:00'
                + to_days(cast(i * $days // $contacts as integer))
                + to_seconds(i % 36000), '%Y-%m-%d %H:%M:%S'),
            substr(md5('e' || (i % $customers)), 1, 12) || '@example.nl',
            substr(md5('n' || (i % $customers)), 1, 7) || ' '
                || substr(md5('a' || (i % $customers)), 1, 11),
            ['auto', 'woon', 'reis', 'zorg'][1 + i % 4],
            ['web', 'phone', 'app'][1 + i % 3],
            1 + cast(i * $days // $contacts as integer),
            'contacts-' || cast(i * $days // $contacts as integer) || '.csv',
            2 + i % 20000,
            now(),
            null,
            null
        from range($contacts) as t(i)
        """,
        {"customers": customers, "contacts": contacts, "days": DAYS},
    )
    conn.execute(
        """
        insert into raw.kcm_responses
        select
            'r-' || i, 'inv-' || i, 'KCM-SQ-01',
            strftime(timestamp '2024-11-26 10:00:00'
                + to_days(cast(i * $days // $responses as integer)), '%Y-%m-%d %H:%M:%S'),
            cast(1 + i % 10 as varchar),
            'Toelichting: ' || md5('c' || i) || ' bel me op 06-' || (10000000 + i % 9999999),
            1000 + cast(i * $days // $responses as integer),
            'kcm-' || i // 2740 || '.csv', 2 + i % 2740, now(), null, null
        from range($responses) as t(i)
        """,
        {"responses": customers * 2, "days": DAYS},
    )
    conn.execute(
        """
        insert into ledger.invitations (
            invitation_id, contact_event_id, customer_id, customer_key, contact_type,
            contact_date, questionnaire_id, survey_url, email, customer_name, state, run_date,
            sent_on, updated_at, attempts
        )
        select
            'inv-' || i, 'e-' || (i * 7), 'K' || (i % $customers), md5('K' || i),
            'service_question', date '2024-11-25' + cast(i * $days // $invitations as integer),
            'KCM-SQ-01', 'https://kcm.example/s/KCM-SQ-01?i=inv-' || i,
            substr(md5('e' || (i % $customers)), 1, 12) || '@example.nl',
            substr(md5('n' || (i % $customers)), 1, 7), 'sent',
            date '2024-11-26' + cast(i * $days // $invitations as integer),
            date '2024-11-26' + cast(i * $days // $invitations as integer), now(), 1
        from range($invitations) as t(i)
        """,
        {"customers": customers, "invitations": customers * 13 // 10, "days": DAYS},
    )
    conn.execute("create schema if not exists marts")
    conn.execute(
        "create table marts.contact_outcomes as select event_id, customer_id, contact_type,"
        " occurred_at, product, channel, 'not_invited' as outcome from raw.contact_events"
    )
    conn.execute("checkpoint")
    # One day of history masked, as the daily masking step does, and logged.
    conn.execute(
        "update raw.contact_events set customer_id = null, email = null, customer_name = null,"
        " _masked_on = date '2026-11-25' where _ingestion_id = 1"
    )
    conn.execute(
        "insert into privacy.masking_log values (date '2026-11-25', now(), 'contact_event',"
        " date '2026-08-25', (select count(*) from raw.contact_events where _ingestion_id = 1),"
        " false)"
    )
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compaction-") as folder:
        data_dir = Path(folder)
        warehouse = data_dir / "warehouse.duckdb"
        started = time.perf_counter()
        make_warehouse(warehouse, args.customers)
        print(
            f"{args.customers:,} customers: warehouse of {warehouse.stat().st_size / 1e9:.2f} GB"
            f" made in {time.perf_counter() - started:.0f} s"
        )
        before = warehouse.stat().st_size
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", COMPACT, str(data_dir)], cwd=REPO, check=True)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
        after = warehouse.stat().st_size
        print(
            f"compaction: {seconds:.1f} s, {before / 1e9:.2f} GB -> {after / 1e9:.2f} GB,"
            f" peak memory {peak:.2f} GB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
