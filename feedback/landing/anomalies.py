"""Whether the day before a run looks like the days it should resemble: a delivery cut short, a
contact type missing, or KCM's answers moving further than chance explains. Each finding is a
warning with its numbers; none stops a run.

The day is the one before the run date, whose contacts its delivery brings; it is compared with
the same weekday of the 8 weeks before (contacts come in weekly patterns), and only where that
history holds at least 4 such days with records. A count counts as cut short when it is below half
their median and a Poisson variable with that median would fall so low less than once in a
thousand days; a day's grades as moved when grades drawn from those weeks' would sum as far from
their mean less than once in a hundred thousand days. Both bounds keep the warnings to what
chance does not explain: over generated deliveries they raise none.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from statistics import median

from feedback.core.settings import Settings
from feedback.core.warehouse import connect

WEEKS = 8
LEAST_WEEKS = 4
# How rare a low count must be under the usual rate.
RARE = 0.001
# How rare a day's grades must be under those of the weeks before (a day's few grades are many
# chances a year to look odd), from how many grades the weeks before must have, and up to how
# many grades the chance is worked out exactly.
RARE_GRADES = 0.00001
LEAST_GRADES = 30
EXACT_UP_TO = 60


def poisson_at_most(count: int, rate: float) -> float:
    """P(X <= count) for X ~ Poisson(rate), summed in log space (rates of thousands)."""
    if rate <= 0:
        return 1.0
    log_rate = math.log(rate)
    return min(
        1.0,
        sum(math.exp(k * log_rate - rate - math.lgamma(k + 1)) for k in range(count + 1)),
    )


def _days(day: date) -> list[date]:
    return [day - timedelta(weeks=n) for n in range(1, WEEKS + 1)]


def _day_and_weeks(settings: Settings, run_date: date, query: str) -> tuple[date, list[tuple]]:
    """The day before `run_date`, and `query`'s rows over that day and the same weekday of the
    weeks before (their dates are its parameter)."""
    day = run_date - timedelta(days=1)
    with connect(settings.warehouse_path) as conn:
        return day, conn.execute(query, [[day, *_days(day)]]).fetchall()


def _cut_short(what: str, count: int, usual_counts: list[int]) -> list[str]:
    """A finding when `count` is under half the usual counts' median, and a Poisson count at
    that median would fall as low less than once in a thousand days."""
    usual = median(usual_counts)
    if count >= usual / 2 or poisson_at_most(count, usual) >= RARE:
        return []
    return [
        f"{count} {what}, against a median of {usual:g} on the same weekday of the"
        f" {len(usual_counts)} weeks before: a delivery cut short?"
    ]


def contact_anomalies(settings: Settings, run_date: date) -> list[str]:
    """The day's contacts against the same weekdays before: all of them, and per type."""
    day, rows = _day_and_weeks(
        settings,
        run_date,
        "select contact_date, contact_type, count(*) from staging.stg_contacts__events"
        " where contact_date in (select unnest(?::date[])) group by all",
    )
    counts: dict[tuple[date, str], int] = {(d, t): n for d, t, n in rows}
    usual_days = [d for d in _days(day) if any(k[0] == d for k in counts)]
    if len(usual_days) < LEAST_WEEKS:
        return []
    per_day = {d: sum(n for (d2, _), n in counts.items() if d2 == d) for d in [day, *usual_days]}
    found = _cut_short(f"contacts dated {day}", per_day[day], [per_day[d] for d in usual_days])
    for contact_type in sorted({t for _, t in counts}):
        usual_of_type = median(counts.get((past, contact_type), 0) for past in usual_days)
        if counts.get((day, contact_type), 0) == 0 and math.exp(-usual_of_type) < RARE:
            found.append(
                f"no contacts of type {contact_type} dated {day}, against a median of"
                f" {usual_of_type:g} on the same weekday of the {len(usual_days)} weeks before"
            )
    return found


def response_anomalies(settings: Settings, run_date: date) -> list[str]:
    """The day's KCM responses against the same weekdays before: how many, and their grades."""
    day, rows = _day_and_weeks(
        settings,
        run_date,
        "select completed_on, grade, count(*) from staging.stg_kcm__responses"
        " where completed_on in (select unnest(?::date[])) group by all",
    )
    usual_days = sorted({d for d, _, _ in rows if d != day})
    if len(usual_days) < LEAST_WEEKS:
        return []
    per_day = {d: sum(n for d2, _, n in rows if d2 == d) for d in [day, *usual_days]}
    count = per_day[day]
    found = _cut_short(f"KCM responses completed on {day}", count, [per_day[d] for d in usual_days])
    grades: dict[int, int] = {}
    for d, grade, n in rows:
        if d != day:
            grades[grade] = grades.get(grade, 0) + n
    total = sum(grade * n for d, grade, n in rows if d == day)
    if count and sum(grades.values()) >= LEAST_GRADES:
        past = sum(grades.values())
        pmf = {grade: n / past for grade, n in grades.items()}
        chance = _chance_of_a_sum_as_far(pmf, count, total)
        if chance < RARE_GRADES:
            past_mean = sum(grade * p for grade, p in pmf.items())
            found.append(
                f"the {count} KCM responses completed on {day} average {total / count:.2f},"
                f" against {past_mean:.2f} over the same weekday of the {len(usual_days)} weeks"
                f" before (a chance of {chance:.1g} to be as far by chance)"
            )
    return found


def _chance_of_a_sum_as_far(pmf: dict[int, float], count: int, total: int) -> float:
    """How likely `count` grades drawn from `pmf` sum to `total` or further from their mean, on
    the same side: exactly for a few grades (their distribution is skewed), by the normal
    approximation for many."""
    mean = sum(grade * p for grade, p in pmf.items())
    below = total <= count * mean
    if count > EXACT_UP_TO:
        variance = sum((grade - mean) ** 2 * p for grade, p in pmf.items())
        z = abs(total - count * mean) / math.sqrt(count * variance) if variance else 0.0
        return 0.5 * math.erfc(z / math.sqrt(2))
    sums = {0: 1.0}
    for _ in range(count):
        step: dict[int, float] = {}
        for partial, p in sums.items():
            for grade, q in pmf.items():
                step[partial + grade] = step.get(partial + grade, 0.0) + p * q
        sums = step
    return sum(p for s, p in sums.items() if (s <= total if below else s >= total))
