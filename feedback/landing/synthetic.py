"""Realistic synthetic landing files: customers, their contacts, opt-outs and KCM's responses.

One generator for the demo, the tests and the benchmark. Everything derives from a seed through
DuckDB's `hash`, so a population of any size comes out the same on every machine and is made in
seconds (a million customers over two years is about ten million contacts):

- contacts of every type, more on weekdays than at weekends and more in winter than in summer,
  at office hours; busy customers have more contacts, and some contacts are followed within a
  week by a question about them; source systems send either Amsterdam local time or UTC;
- customer names with Dutch prefixes and accents, and a few bad e-mail addresses (empty,
  "geen e-mail", "at" for @, a trailing dot) and now and then a name with a line break in it;
- opt-outs of about half a percent of the customers;
- KCM's answers to the invitations: a response rate and a grade distribution per contact type,
  comments (some with a phone number or an e-mail address in them), mostly delivered the day
  after they were completed, a few late, a few corrected and delivered again;
- a few malformed rows: a timestamp that is not one, a grade that is not a number, a record with
  more fields than the header.

A delivery for run date D holds what happened on the days before D that was not delivered yet:
the contacts of D-1, the opt-outs of D-1, the answers KCM delivers that morning.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from feedback.core.warehouse import path_literal
from feedback.landing.loading import SOURCES

# Contact types and their share of all contacts; `address_lookup` is stored but not surveyed.
CONTACT_TYPES = {
    "service_question": 0.30,
    "invoice_declared": 0.25,
    "claim_reported": 0.14,
    "details_changed": 0.10,
    "new_policy": 0.08,
    "cancellation": 0.05,
    "address_lookup": 0.08,
}
# Who answers KCM's questionnaire, per contact type.
RESPONSE_RATES = {
    "service_question": 0.24,
    "invoice_declared": 0.21,
    "claim_reported": 0.33,
    "details_changed": 0.16,
    "new_policy": 0.28,
    "cancellation": 0.14,
}
# Grades 1 to 10 (probabilities): a claim or a cancellation is graded lower than a new policy.
_USUAL = (0.01, 0.01, 0.02, 0.03, 0.05, 0.10, 0.22, 0.31, 0.16, 0.09)
GRADES = {
    "service_question": _USUAL,
    "invoice_declared": (0.01, 0.01, 0.02, 0.04, 0.06, 0.12, 0.22, 0.30, 0.14, 0.08),
    "claim_reported": (0.03, 0.02, 0.03, 0.05, 0.07, 0.12, 0.21, 0.27, 0.13, 0.07),
    "details_changed": _USUAL,
    "new_policy": (0.005, 0.005, 0.01, 0.02, 0.04, 0.08, 0.20, 0.34, 0.19, 0.11),
    "cancellation": (0.05, 0.03, 0.05, 0.07, 0.10, 0.14, 0.21, 0.22, 0.09, 0.04),
}
# Monday to Sunday, relative to an average day.
WEEKDAY_LOAD = (1.30, 1.15, 1.10, 1.10, 1.00, 0.25, 0.10)
PRODUCTS = ("auto", "woon", "zorg", "reis", "aansprakelijkheid", "")
CHANNELS = ("telefoon", "web", "app", "e-mail", "chat")
FIRST_NAMES = (
    "Jan", "Anna", "Pieter", "Sanne", "Mohammed", "Fatima", "Daan", "Emma", "Sem", "Julia",
    "Lucas", "Tess", "Noah", "Zoë", "Chloë", "José", "Inge", "Kees", "Anne-Marie", "Youssef",
    "Eva", "Bram", "Lotte", "Thijs", "Mila", "Ruben", "Fenna", "Stijn", "Iris", "Aïcha",
)  # fmt: skip
LAST_NAMES = (
    "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Dijk", "Özdemir",
    "van 't Hof", "El Amrani", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "Kok",
    "van der Linden", "Yılmaz", "Nguyen", "Verhoeven", "Schouten", "Koç",
)  # fmt: skip
DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "live.nl",
           "xs4all.nl", "planet.nl", "icloud.com", "hetnet.nl")  # fmt: skip
COMMENTS = (
    "Snel en vriendelijk geholpen.",
    "Duurde lang voordat ik iemand aan de lijn had.",
    "Prima, geen klachten.",
    "De website was onduidelijk; bel me gerust op 06-12345678.",
    "Uitstekende service, dank!",
    "Nota is pas na drie weken vergoed.",
    "Medewerker dacht goed mee; mail me op kees.jansen@example.nl als er nog iets is.",
    "Schade netjes afgehandeld.",
    "Ik moest drie keer bellen.",
    "Graag terugstorten op NL91 ABNA 0417 1643 00.",
    "Duidelijke uitleg over mijn polis.",
    "De app werkte niet, via de telefoon ging het wel.",
    "Opzeggen ging gemakkelijk, jammer dat het nodig was.",
    'Antwoord "binnen 2 dagen" werd een week.',
)

_CONTACT_COLUMNS = next(s for s in SOURCES if s.name == "contact_events").columns
_KCM_COLUMNS = next(s for s in SOURCES if s.name == "kcm_responses").columns
# Columns KCM adds beyond the contract's; the loader keeps them as extra answers.
KCM_EXTRA_COLUMNS = ("zou_aanbevelen",)


@dataclass(frozen=True)
class Population:
    """Who there is and what happens, from `first_day` to `last_day` (contact days)."""

    customers: int
    first_day: date
    last_day: date
    seed: int = 2026
    contacts_per_customer_year: float = 5.0


@dataclass
class Delivered:
    """What one `write` put into landing/: rows per source (malformed ones included)."""

    files: int = 0
    contacts: int = 0
    opt_outs: int = 0
    responses: int = 0


def _list(values) -> str:
    return "[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


def _pick(values, u: str) -> str:
    """A SQL expression choosing one of `values` by the uniform number `u`."""
    return f"{_list(values)}[1 + cast(floor(({u}) * {len(values)}) as integer)]"


def _by_weight(weights: dict[str, float] | tuple, u: str) -> str:
    """A SQL CASE choosing a key of `weights` (or 1..n for a tuple) by the uniform `u`."""
    items = list(weights.items()) if isinstance(weights, dict) else list(enumerate(weights, 1))
    total = sum(weight for _, weight in items)
    cases, cumulative = [], 0.0
    for key, weight in items[:-1]:
        cumulative += weight / total
        value = f"'{key}'" if isinstance(key, str) else str(key)
        cases.append(f"when {u} < {cumulative:.6f} then {value}")
    last = items[-1][0]
    last_value = f"'{last}'" if isinstance(last, str) else str(last)
    return f"case {' '.join(cases)} else {last_value} end"


class SyntheticData:
    """A population's contacts, opt-outs and answers, made in an in-memory DuckDB and written
    out as landing files per run date."""

    def __init__(self, population: Population):
        self.population = population
        self.conn = duckdb.connect()
        self.conn.execute("set timezone = 'UTC'")
        seed = int(population.seed)
        # u(k, a, b): a uniform number in [0, 1) from the seed, a stream k and two keys.
        self.conn.execute(
            f"create macro u(k, a, b) as (hash({seed}, k, a, b) % 1000000007) / 1000000007.0"
        )
        self._customers()
        self._contacts()
        self._opt_outs()
        self._answers()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SyntheticData:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _customers(self) -> None:
        first, last = _pick(FIRST_NAMES, "u(1, i, 0)"), _pick(LAST_NAMES, "u(2, i, 0)")
        domain = _pick(DOMAINS, "u(3, i, 0)")
        self.conn.execute(f"""
            create table customers as
            with named as (
                select
                    i as customer_no,
                    'K' || (1000000 + i) as customer_id,
                    {first} as first_name,
                    {last} as last_name,
                    {domain} as domain,
                    u(4, i, 0) as u_email,
                    u(5, i, 0) as u_name
                from range({self.population.customers}) as t(i)
            ),
            addressed as (
                select
                    *,
                    lower(strip_accents(replace(first_name, '-', ''))) || '.'
                    || lower(strip_accents(replace(
                        regexp_replace(last_name, '[^A-Za-zÀ-ÿıİçÇşŞğĞ]', '', 'g'), 'ı', 'i'
                    )))
                    || cast(customer_no % 97 as varchar) || '@' || domain as address
                from named
            )
            select
                customer_no,
                customer_id,
                case
                    when u_name < 0.00002 then first_name || chr(10) || last_name
                    else first_name || ' ' || last_name
                end as customer_name,
                case
                    when u_email < 0.012 then ''
                    when u_email < 0.018 then 'geen e-mail'
                    when u_email < 0.022 then replace(address, '@', ' at ')
                    when u_email < 0.025 then address || '.'
                    else address
                end as email,
                u_email >= 0.025 as has_valid_email
            from addressed
        """)  # noqa: E501

    def _contacts(self) -> None:
        p = self.population
        per_day = p.customers * p.contacts_per_customer_year / 365.25
        weekday = f"cast([{', '.join(map(str, WEEKDAY_LOAD))}] as double[])"
        self.conn.execute(f"""
            create table days as
            select
                cast(d as date) as day,
                cast(datediff('day', date '{p.first_day}', cast(d as date)) as integer) as day_no,
                cast(round(
                    {per_day} * {weekday}[isodow(d)] / {sum(WEEKDAY_LOAD) / 7}
                    * (1 + 0.15 * cos(2 * pi() * (dayofyear(d) - 15) / 365.25))
                ) as integer) as contacts
            from range(date '{p.first_day}', date '{p.last_day}' + 1, interval 1 day) as t(d)
        """)
        kind = _by_weight(CONTACT_TYPES, "u(11, day_no, i)")
        product, channel = _pick(PRODUCTS, "u(12, day_no, i)"), _pick(CHANNELS, "u(13, day_no, i)")
        self.conn.execute(f"""
            create table contacts as
            with slots as (
                select day, day_no, unnest(range(contacts)) as i from days
            ),
            first_contacts as (
                select
                    'C' || strftime(day, '%Y%m%d') || '-' || lpad(cast(i as varchar), 7, '0')
                        as event_id,
                    -- busy customers: the lower numbers have more contacts
                    cast(floor({p.customers} * pow(u(10, day_no, i), 1.3)) as bigint)
                        as customer_no,
                    {kind} as contact_type,
                    day,
                    day_no,
                    i,
                    {product} as product,
                    {channel} as channel
                from slots
            ),
            follow_ups as (
                -- a question about a contact, within a week, by the same customer
                select
                    'F' || substr(event_id, 2) as event_id,
                    customer_no,
                    'service_question' as contact_type,
                    day + cast(1 + floor(u(15, day_no, i) * 6) as integer) as day,
                    day_no + cast(1 + floor(u(15, day_no, i) * 6) as integer) as day_no,
                    i,
                    product,
                    'telefoon' as channel
                from first_contacts
                where u(14, day_no, i) < 0.08
            ),
            all_contacts as (
                select * from first_contacts
                union all
                select * from follow_ups where day <= date '{p.last_day}'
            )
            select
                all_contacts.*,
                timezone('Europe/Amsterdam', day + to_hours(cast(8 + floor(u(16, day_no, i) * 13)
                    as integer)) + to_minutes(cast(floor(u(17, day_no, i) * 60) as integer))
                    + to_seconds(cast(floor(u(18, day_no, i) * 60) as integer))) as occurred_at,
                -- half the source systems send UTC with an offset, half Amsterdam local time
                u(19, day_no, i) < 0.5 as sends_utc
            from all_contacts
        """)

    def _opt_outs(self) -> None:
        days = (self.population.last_day - self.population.first_day).days + 1
        self.conn.execute(f"""
            create table opt_outs as
            select
                customer_id,
                date '{self.population.first_day}'
                    + cast(floor(u(21, customer_no, 0) * {days}) as integer) as day
            from customers
            where u(20, customer_no, 0) < 0.005
        """)

    def _answers(self) -> None:
        """KCM's answers to the invitations that runs on every day from the day after
        `first_day` send: a contact of day C is delivered to the run of C + 1, which invites the
        customer's latest contact of C of a surveyed type to a valid address, unless an
        invitation went out on C - 27 or later (the 28-day rule). Customers who opt out at any
        time get none: deliveries dropped together load on the first run, where an opt-out
        stops every invitation, whatever its date."""
        surveyed = _list(RESPONSE_RATES)
        rate = "case contact_type " + " ".join(
            f"when '{kind}' then {r}" for kind, r in RESPONSE_RATES.items()
        ) + " end"  # fmt: skip
        grade = "case contact_type " + " ".join(
            f"when '{kind}' then {_by_weight(pmf, 'u(31, day_no, i)')}"
            for kind, pmf in GRADES.items()
        ) + " end"  # fmt: skip
        comment = (
            f"case when u(32, day_no, i) < 0.45 then '' else "
            f"{_pick(COMMENTS, '(u(33, day_no, i))')} end"
        )
        questionnaires = " ".join(
            f"when '{kind}' then 'KCM-{code}-01'"
            for kind, code in (
                ("new_policy", "NP"),
                ("service_question", "SQ"),
                ("claim_reported", "CL"),
                ("invoice_declared", "ID"),
                ("details_changed", "DC"),
                ("cancellation", "CA"),
            )
        )
        self.conn.execute(f"""
            create table answers as
            with candidates as (
                select
                    contacts.customer_no,
                    contacts.day_no,
                    arg_max(contacts.event_id, (contacts.occurred_at, contacts.event_id))
                        as event_id
                from contacts
                inner join customers using (customer_no)
                left join opt_outs using (customer_id)
                where list_contains({surveyed}, contacts.contact_type)
                    and customers.has_valid_email
                    and opt_outs.customer_id is null
                group by contacts.customer_no, contacts.day_no
            ),
            invitation_days as (
                -- an invitation sent on C + 1 holds back the customer's contacts up to C + 28
                select
                    customer_no,
                    unnest(list_reduce(
                        list(day_no order by day_no),
                        lambda sent, day_no: if(
                            day_no >= sent[-1] + 29, list_append(sent, day_no), sent
                        ),
                        [-29]
                    )[2:]) as day_no
                from candidates
                group by customer_no
            ),
            invited as (
                select contacts.*
                from candidates
                inner join invitation_days using (customer_no, day_no)
                inner join contacts using (event_id)
            ),
            answered as (
                select
                    *,
                    day + cast(1 + floor(pow(u(34, day_no, i), 2) * 9) as integer) as completed_on
                from invited
                where u(30, day_no, i) < {rate}
            )
            select
                'R' || substr(md5('response:' || event_id), 1, 12) as response_id,
                'inv-' || left(md5('feedback-invitation:' || event_id), 20) as invitation_id,
                case contact_type {questionnaires} end as questionnaire_id,
                timezone('Europe/Amsterdam', completed_on
                    + to_minutes(cast(420 + floor(u(35, day_no, i) * 960) as integer)))
                    as completed_at,
                {grade} as grade,
                {comment} as comment,
                {_pick(("ja", "nee", ""), "u(36, day_no, i)")} as zou_aanbevelen,
                -- mostly the next morning; a few late, after days or weeks
                completed_on + case
                    when u(37, day_no, i) < 0.03
                        then cast(2 + floor(u(38, day_no, i) * 20) as integer)
                    else 1
                end as delivered_on,
                false as is_correction
            from answered
        """)
        # A few answers corrected by KCM and delivered again under the same response_id.
        self.conn.execute("""
            insert into answers
            select
                response_id, invitation_id, questionnaire_id, completed_at,
                greatest(1, least(10, grade + 1)), comment || ' (aangepast)', zou_aanbevelen,
                delivered_on + 3, true
            from answers
            where u(39, hash(response_id), 0) < 0.005
        """)

    def counts(self) -> dict[str, int]:
        """Rows in the population: contacts, customers, opt-outs, answers."""
        return {
            table: self.conn.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("customers", "contacts", "opt_outs", "answers")
        }

    def write(
        self, landing_dir: Path, first_run: date, last_run: date, *, one_file: bool = False
    ) -> Delivered:
        """The deliveries for the run dates `first_run`..`last_run` into `landing_dir`: a file
        per source and run date, or with `one_file` one file per source for the whole span."""
        delivered = Delivered()
        if one_file:
            runs = [(first_run, last_run, f"{first_run}-to-{last_run}")]
        else:
            runs = [
                (day, day, day.isoformat())
                for day in (
                    first_run + timedelta(days=n) for n in range((last_run - first_run).days + 1)
                )
            ]
        for first, last, label in runs:
            # the run on D gets what happened before D
            span = (first - timedelta(days=1), last - timedelta(days=1))
            delivered.contacts += self._write_contacts(landing_dir, label, span)
            delivered.opt_outs += self._write_opt_outs(landing_dir, label, span)
            delivered.responses += self._write_answers(landing_dir, label, (first, last))
        delivered.files = sum(1 for path in landing_dir.rglob("*.csv"))
        return delivered

    def _write_contacts(self, landing_dir: Path, label: str, span: tuple[date, date]) -> int:
        path = landing_dir / "contact_events" / f"contacts-{label}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn.execute(
            f"""
            copy (
                select
                    event_id,
                    customer_id,
                    contact_type,
                    case
                        when sends_utc then strftime(occurred_at, '%Y-%m-%dT%H:%M:%SZ')
                        else strftime(timezone('Europe/Amsterdam', occurred_at),
                            '%Y-%m-%d %H:%M:%S')
                    end as occurred_at,
                    email,
                    customer_name,
                    product,
                    channel
                from contacts
                inner join customers using (customer_no)
                where day between $first and $last
                order by occurred_at, event_id
            ) to {path_literal(path)} (header, delimiter ',', quote '"')
            """,
            {"first": span[0], "last": span[1]},
        )
        rows = self.conn.execute(
            "select count(*) from contacts where day between $1 and $2", list(span)
        ).fetchone()[0]
        if not rows:
            path.unlink()
            return 0
        malformed = self._malformed(span[1])
        if malformed:
            # A source system's broken clock, and a record split into too many fields.
            with path.open("a", encoding="utf-8", newline="") as out:
                writer = csv.writer(out, lineterminator="\n")
                if malformed % 2:
                    writer.writerow(
                        [f"C-BAD-{label}", "K1000001", "service_question", "gisteren"]
                        + [""] * (len(_CONTACT_COLUMNS) - 4)
                    )
                if malformed % 3 == 0:
                    writer.writerow([f"C-SPLIT-{label}", *["x"] * len(_CONTACT_COLUMNS)])
        return rows + (malformed % 2) + (malformed % 3 == 0)

    def _malformed(self, day: date) -> int:
        """Whether a day's files carry malformed rows: 0 for most days, else a small code."""
        code = self.conn.execute("select cast(u(40, $1, 0) * 12 as integer)", [day]).fetchone()[0]
        return code if code < 4 else 0

    def _write_opt_outs(self, landing_dir: Path, label: str, span: tuple[date, date]) -> int:
        rows = self.conn.execute(
            "select customer_id, strftime(timezone('Europe/Amsterdam', day + interval 20 hour),"
            " '%Y-%m-%dT%H:%M:%SZ') from opt_outs where day between $1 and $2"
            " order by day, customer_id",
            list(span),
        ).fetchall()
        if rows:
            path = landing_dir / "opt_outs" / f"opt-outs-{label}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(("customer_id", "opted_out_at"))
                writer.writerows(rows)
        return len(rows)

    def _write_answers(self, landing_dir: Path, label: str, runs: tuple[date, date]) -> int:
        rows = self.conn.execute(
            "select response_id, invitation_id, questionnaire_id,"
            " strftime(completed_at, '%Y-%m-%dT%H:%M:%SZ'), cast(grade as varchar), comment,"
            " zou_aanbevelen from answers where delivered_on between $1 and $2"
            " order by delivered_on, is_correction, completed_at, response_id",
            list(runs),
        ).fetchall()
        if not rows:
            return 0
        malformed = self._malformed(runs[1])
        if malformed == 2:
            response_id, invitation_id, questionnaire_id, completed, *_ = rows[0]
            rows.append(
                (f"{response_id}-X", invitation_id, questionnaire_id, completed, "tien", "", "")
            )
        path = landing_dir / "kcm_responses" / f"kcm-{label}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        # KCM writes a byte-order mark, semicolons and CRLF line endings.
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
            writer.writerow((*_KCM_COLUMNS, *KCM_EXTRA_COLUMNS))
            writer.writerows(rows)
        return len(rows)
