"""The rules' numbers are dbt vars (`invitation_quiet_days`, `catch_up_days`, `retention_months`);
what the marts and the run's summary say follows them, whatever their values.

Anna (c1) is e-mailed on 2 March for her contact of 1 March and has another contact on 6 March;
Bram (c2) has a contact on 2 March, after the first run's date. The rules are then built for 9
March with a quiet period of 10 days, a catch-up bound of 5 days and 2 months of retention:
Anna's second contact was e-mailed about 4 days before (less than 10), and Bram's is 7 days old
(more than 5). With the defaults (28 and 14) Bram would be invited on 9 March.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import UTC, date, datetime

from conftest import CONTACT_HEADER, dbt

from feedback.core.settings import Settings
from feedback.privacy.masking import mask_expired
from feedback_cli.summary import print_summary

OTHER_VALUES = (
    '{as_of: "2026-03-09", invitation_quiet_days: 10, catch_up_days: 5, retention_months: 2}'
)


def test_the_marts_and_the_summary_follow_the_vars(data, tmp_path, monkeypatch):
    data.land(
        "contact_events",
        "contacts-2026-03-06.csv",
        CONTACT_HEADER
        + "e1,c1,new_policy,2026-03-01T10:00:00+01:00,anna@example.org,Anna,car,web\n"
        + "e2,c2,new_policy,2026-03-02T10:00:00+01:00,bram@example.org,Bram,car,web\n"
        + "e3,c1,service_question,2026-03-06T10:00:00+01:00,anna@example.org,Anna,car,phone\n",
    )
    data.run("2026-03-02")
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(data.root))
    built = dbt(["run", "--vars", OTHER_VALUES], tmp_path)
    assert built.success, built.exception

    explained = dict(
        data.query("select contact_event_id, outcome_explanation from marts.contact_outcomes")
    )
    assert explained["e3"] == "an invitation was sent on 2026-03-02, less than 10 days before"
    assert explained["e2"] == "older than the catch-up bound of 5 days before it could be invited"
    assert data.query(
        "select masking_cutoff, retention_months from intermediate.int_masking__cutoff"
    ) == [(date(2026, 1, 9), 2)]

    settings = Settings.from_env()
    masked = mask_expired(settings, date(2026, 3, 9))
    assert masked.retention_months == 2
    metadata = {
        "privacy/personal_data_masking": {
            "retention_months": masked.retention_months,
            **{f"masked_{kind}": n for kind, n in masked.records_masked.items()},
        }
    }
    printed = io.StringIO()
    with redirect_stdout(printed):
        print_summary(settings, date(2026, 3, 9), metadata, datetime.now(UTC))
    assert "  masking: 0 record(s) past 2 months masked," in printed.getvalue()
