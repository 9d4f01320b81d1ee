"""The quarterly report for internal readers: one HTML page per published quarter under
`reports/`, a single file that works offline (its charts are inline SVG drawn with matplotlib).

It shows the published figure with its 95% confidence interval and whether the change from the
previous quarter is larger than chance, the trend over the published quarters, the grade
distribution, the mean and count per contact type, product and channel, the response rate per
contact type, the funnel from contact to invitation with the reasons contacts were not invited,
restatements of published quarters, and recent comments. Everything comes from the marts as of
the run that makes it; comments come from `marts.response_details`, which always redacts e-mail
addresses, phone numbers and IBANs, so a report never holds them, however old it gets.

A report is made once, by the run that publishes its quarter (or a later run when its file is
missing); later deliveries show as restatements in the next quarters' reports.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from feedback.core.settings import Settings
from feedback.core.warehouse import connect

# Two-sided 95% quantiles of Student's t for 1 to 30 degrees of freedom; beyond, the normal 1.96.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
COMMENTS_SHOWN = 12
OUTCOME_LABELS = {
    "invited": "uitgenodigd",
    "emailed_within_quiet_period": "rustperiode: kort ervoor al een e-mail",
    "later_contact_chosen": "28-dagenregel: later contact van de klant gekozen",
    "emailed_after_contact": "28-dagenregel: e-mail ging al uit na het contact",
    "no_valid_email": "geen geldig e-mailadres",
    "opted_out": "klant heeft zich afgemeld",
    "past_catch_up_bound": "te laat binnengekomen (na de inhaaltermijn)",
    "not_surveyed_type": "contacttype wordt niet gemeten",
    "invitation_failed": "mailserver weigerde de uitnodiging",
    "delivery_uncertain": "verzending onzeker na een onderbroken run",
    "due": "nog te versturen",
    "awaiting_next_run": "volgende run beslist",
}

_templates = Environment(
    loader=PackageLoader("feedback.publishing", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_templates.filters["nl"] = lambda value, decimals=1: _dutch(value, decimals)


@dataclass(frozen=True)
class Estimate:
    """A quarter's mean grade with its 95% confidence interval."""

    quarter: str
    count: int
    mean: float
    standard_error: float

    @property
    def margin(self) -> float:
        df = self.count - 1
        t = _T95[df - 1] if 1 <= df <= len(_T95) else 1.96
        return t * self.standard_error

    @property
    def low(self) -> float:
        return self.mean - self.margin

    @property
    def high(self) -> float:
        return self.mean + self.margin


def change_p_value(current: Estimate, previous: Estimate) -> float:
    """Two-sided p-value of the difference of two quarters' means (Welch's z, normal
    approximation: quarters hold hundreds of grades)."""
    spread = math.hypot(current.standard_error, previous.standard_error)
    if spread == 0:
        return 0.0 if current.mean != previous.mean else 1.0
    z = abs(current.mean - previous.mean) / spread
    return math.erfc(z / math.sqrt(2))


def report_path(settings: Settings, quarter: str) -> Path:
    return settings.reports_dir / f"klanttevredenheid-{quarter}.html"


def write_missing_reports(settings: Settings, run_date: date) -> list[str]:
    """A report for every published quarter that has none yet; the quarters written."""
    with connect(settings.warehouse_path) as conn:
        published = [
            quarter
            for (quarter,) in conn.execute(
                "select quarter from marts.quarterly_satisfaction order by quarter"
            ).fetchall()
        ]
        written = []
        for quarter in published:
            path = report_path(settings, quarter)
            if not path.exists():
                _replace(path, render(conn, quarter, run_date))
                written.append(quarter)
    return written


def render(conn: duckdb.DuckDBPyConnection, quarter: str, run_date: date) -> str:
    publications = _rows(
        conn,
        "select quarter, published_grade, response_count, average_grade, published_on,"
        " quarter_start, quarter_end, current_response_count, current_average_grade,"
        " current_rounded_grade"
        " from marts.quarterly_satisfaction where quarter <= ? order by quarter",
        [quarter],
    )
    this = publications[-1]
    estimates = _estimates(conn, quarter)
    current = estimates.get(quarter)
    previous = estimates.get(publications[-2]["quarter"]) if len(publications) > 1 else None
    period = [this["quarter_start"], this["quarter_end"]]
    distribution = dict(
        conn.execute(
            "select grade, count(*) from marts.response_details where quarter = ? group by grade",
            [quarter],
        ).fetchall()
    )
    groups = _groups(conn, quarter)
    funnel = _rows(
        conn,
        "select outcome, count(*) as n from marts.contact_outcomes"
        " where contact_date between ? and ? group by outcome order by n desc, outcome",
        period,
    )
    return _templates.get_template("report.html.j2").render(
        quarter=quarter,
        run_date=run_date,
        this=this,
        current=current,
        previous=previous,
        p_value=change_p_value(current, previous) if current and previous else None,
        trend_chart=_trend_chart(publications, estimates),
        distribution_chart=_distribution_chart(distribution),
        type_chart=_group_chart(groups["contacttype"]),
        groups=groups,
        response_rates=_response_rates(conn, period),
        funnel=[(OUTCOME_LABELS.get(r["outcome"], r["outcome"]), r["n"]) for r in funnel],
        contacts=sum(r["n"] for r in funnel),
        restated=_restated(publications),
        comments=_recent_comments(conn, quarter),
    )


def _estimates(conn, quarter: str) -> dict[str, Estimate]:
    """Each quarter's mean grade up to `quarter`, with its standard error."""
    return {
        row["quarter"]: Estimate(
            row["quarter"], row["n"], row["mean"], (row["sd"] or 0) / math.sqrt(row["n"])
        )
        for row in _rows(
            conn,
            "select quarter, count(*) as n, avg(grade) as mean, stddev_samp(grade) as sd"
            " from marts.response_details where quarter <= ? group by quarter",
            [quarter],
        )
    }


def _groups(conn, quarter: str) -> dict[str, list[dict]]:
    """The quarter's count and mean grade per contact type, product and channel."""
    return {
        label: _rows(
            conn,
            f"select coalesce({column}, '(onbekend)') as name, count(*) as n,"
            " avg(grade) as mean from marts.response_details where quarter = ?"
            " group by all order by n desc, name",
            [quarter],
        )
        for label, column in (
            ("contacttype", "contact_type"),
            ("product", "product"),
            ("kanaal", "channel"),
        )
    }


def _response_rates(conn, period: list[date]) -> list[dict]:
    """Per contact type, the invitations sent in the period and how many were answered."""
    return _rows(
        conn,
        "select invitations.contact_type as name, count(*) as invited,"
        " count(responses.response_id) as responded"
        " from marts.feedback_invitations as invitations"
        " left join marts.survey_responses as responses"
        " on invitations.invitation_id = responses.invitation_id"
        " where invitations.sent_on between ? and ? group by all order by invited desc, name",
        period,
    )


def _recent_comments(conn, quarter: str) -> list[dict]:
    """The quarter's last comments, as `marts.response_details` redacts them."""
    return _rows(
        conn,
        "select completed_on, coalesce(contact_type, '(onbekend)') as contact_type, grade,"
        " redacted_comment as comment from marts.response_details"
        " where quarter = ? and nullif(trim(redacted_comment), '') is not null"
        " order by completed_at desc, response_id limit ?",
        [quarter, COMMENTS_SHOWN],
    )


def _restated(publications: list[dict]) -> list[dict]:
    """The published quarters whose grades changed after publication."""
    return [
        row
        for row in publications
        if row["current_response_count"] != row["response_count"]
        or (
            row["average_grade"] is not None
            and abs(row["current_average_grade"] - row["average_grade"]) > 1e-9
        )
    ]


def _rows(conn, sql: str, params: list) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _dutch(value, decimals: int = 1) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.{decimals}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


# Charts: a few plain matplotlib figures, as inline SVG.

_INK, _ACCENT, _MUTED, _GRID = "#10243e", "#0b5cad", "#7a8ca3", "#dde5ef"


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(colors=_INK, labelsize=9)
    axes.grid(axis="y", color=_GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    return figure, axes


def _svg(figure) -> Markup:
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "feedback-report"
    buffer = io.StringIO()
    figure.tight_layout()
    # No date or creator block: the same data draws the same bytes.
    metadata = dict.fromkeys(("Date", "Creator", "Format", "Type"))
    figure.savefig(buffer, format="svg", metadata=metadata)
    text = buffer.getvalue()
    return Markup(text[text.index("<svg") :])


def _trend_chart(publications: list[dict], estimates: dict[str, Estimate]) -> Markup:
    figure, axes = _figure(7.2, 3.0)
    quarters = [row["quarter"] for row in publications]
    published = [float(row["published_grade"]) for row in publications]
    axes.plot(quarters, published, color=_ACCENT, marker="o", linewidth=2, label="gepubliceerd")
    shown = [q for q in quarters if q in estimates]
    axes.errorbar(
        shown,
        [estimates[q].mean for q in shown],
        yerr=[estimates[q].margin for q in shown],
        fmt="none",
        ecolor=_MUTED,
        capsize=4,
        label="95%-betrouwbaarheidsinterval (huidig)",
    )
    axes.set_ylabel("rapportcijfer", color=_INK)
    low = min(published + [estimates[q].low for q in shown])
    high = max(published + [estimates[q].high for q in shown])
    axes.set_ylim(max(1, math.floor(low * 2) / 2 - 0.5), min(10, math.ceil(high * 2) / 2 + 0.5))
    axes.legend(frameon=False, fontsize=8, loc="lower left")
    return _svg(figure)


def _distribution_chart(distribution: dict[int, int]) -> Markup:
    figure, axes = _figure(7.2, 2.6)
    grades = list(range(1, 11))
    axes.bar(grades, [distribution.get(g, 0) for g in grades], color=_ACCENT, width=0.7)
    axes.set_xticks(grades)
    axes.set_xlabel("cijfer", color=_INK)
    axes.set_ylabel("aantal", color=_INK)
    return _svg(figure)


def _group_chart(rows: list[dict]) -> Markup:
    figure, axes = _figure(7.2, 0.45 * max(len(rows), 2) + 0.8)
    names = [row["name"] for row in reversed(rows)]
    axes.barh(names, [row["mean"] for row in reversed(rows)], color=_ACCENT, height=0.6)
    axes.set_xlim(1, 10)
    axes.grid(axis="x", color=_GRID, linewidth=0.8)
    axes.grid(axis="y", visible=False)
    axes.set_xlabel("gemiddeld cijfer", color=_INK)
    return _svg(figure)


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
