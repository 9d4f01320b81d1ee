"""The quarter: the plain mean of the grades whose Amsterdam date falls in it, rounded half up,
published on the first run of the next quarter; a published figure stands, and what is delivered
for the quarter later shows as its current figure beside it."""

import io
import json
import os
from datetime import date
from decimal import Decimal

import html5lib
import pytest
from conftest import CONTACT_HEADER, KCM_HEADER, invitation_id
from PIL import Image


def kcm(*rows: str) -> str:
    return KCM_HEADER + "".join(f"{row}\n" for row in rows)


JANUARY_CONTACTS = CONTACT_HEADER + (
    "e-k1,k1,service_question,2026-01-02 10:00:00,k1@example.nl,,,phone\n"
    "e-k2,k2,claim_reported,2026-01-03 10:00:00,k2@example.nl,,,web\n"
)
# 23:30 on 31 December in Amsterdam: the last moment of 2025-Q4.
Q4_RESPONSE = kcm("r-q4;inv-x;KCM-SQ-01;2025-12-31T23:30:00+01:00;1;")
Q1_RESPONSES = kcm(
    f"r-k1;{invitation_id('e-k1')};KCM-SQ-01;2026-01-05 10:00:00;7;",
    f"r-k2;{invitation_id('e-k2')};KCM-CL-01;2026-03-31T21:30:00Z;8;23:30 zomertijd",
    "r-new-year;inv-y;KCM-SQ-01;2026-01-01T00:30:00+01:00;7;"
    "net na middernacht <script>alert('x')</script> bel 06-12345678",
    "r-feb;inv-z;KCM-SQ-01;2026-02-15 12:00:00;7;",
    # 22:30 UTC on 31 March is 00:30 on 1 April in Amsterdam: 2026-Q2, not complete yet.
    "r-q2;inv-w;KCM-SQ-01;2026-03-31T22:30:00Z;2;",
)
# Two late grades that move the mean (7.25 to 7.33) but not the published 7.3.
LATE_SAME_FIGURE = kcm(
    "r-late-1;inv-v;KCM-SQ-01;2026-03-30 10:00:00;7;",
    "r-late-2;inv-u;KCM-SQ-01;2026-03-30 11:00:00;8;",
)
# One more that would move the rounded figure: (44 + 1) / 7 = 6.43.
LATE_NEW_FIGURE = kcm("r-late-3;inv-t;KCM-SQ-01;2026-03-30 12:00:00;1;")


def website_files(data) -> dict:
    public = data.root / "public"
    return {
        name: ((public / name).read_bytes(), os.stat(public / name).st_mtime_ns)
        for name in ("klanttevredenheid.html", "klanttevredenheid.png")
    }


def reports(data) -> dict:
    return {
        path.name: (path.read_text(encoding="utf-8"), os.stat(path).st_mtime_ns)
        for path in sorted((data.root / "reports").glob("*.html"))
    }


@pytest.fixture(scope="module")
def runs(module_data):
    data = module_data
    data.land("contact_events", "contacts-2026-01-04.csv", JANUARY_CONTACTS)
    data.land("kcm_responses", "kcm-2026-01-04.csv", Q4_RESPONSE)
    states = {}
    data.run("2026-01-05")
    states["5 January"] = data.published()

    data.land("kcm_responses", "kcm-2026-03-31.csv", Q1_RESPONSES)
    _, output = data.run("2026-04-01")
    states["1 April"] = data.published()
    states["1 April output"] = output
    states["quarters"] = data.query(
        "select quarter, quarter_start, quarter_end, response_count, average_grade,"
        " published_grade, current_response_count from marts.quarterly_satisfaction"
        " order by quarter"
    )
    states["by type"] = data.query(
        "select quarter, contact_type, response_count, average_grade"
        " from marts.quarterly_satisfaction_by_contact_type order by quarter, contact_type"
    )
    states["responses"] = data.query(
        "select response_id, contact_type, completed_on, quarter from marts.survey_responses"
        " order by response_id"
    )
    published_file = data.root / "public" / "klanttevredenheid.json"
    states["1 April mtime"] = os.stat(published_file).st_mtime_ns
    states["1 April website"] = website_files(data)
    states["1 April reports"] = reports(data)

    data.land("kcm_responses", "kcm-2026-04-01.csv", LATE_SAME_FIGURE)
    _, output = data.run("2026-04-02")
    states["2 April"] = data.published()
    states["2 April output"] = output
    states["2 April mtime"] = os.stat(published_file).st_mtime_ns
    states["2 April Q1"] = data.query(
        "select response_count, published_grade from marts.quarterly_satisfaction"
        " where quarter = '2026-Q1'"
    )

    data.land("kcm_responses", "kcm-2026-04-02.csv", LATE_NEW_FIGURE)
    _, output = data.run("2026-04-03")
    states["3 April"] = data.published()
    states["3 April output"] = output
    states["3 April mtime"] = os.stat(published_file).st_mtime_ns
    states["3 April website"] = website_files(data)
    states["3 April reports"] = reports(data)
    states["3 April Q1"] = data.query(
        "select response_count, average_grade, published_grade, published_on,"
        " current_response_count, current_average_grade"
        " from marts.quarterly_satisfaction where quarter = '2026-Q1'"
    )
    states["publications"] = data.query(
        "select quarter, published_grade, response_count, average_grade, published_on"
        " from audit.publications order by quarter"
    )
    return states


def test_first_run_on_or_after_a_quarter_start_publishes_the_quarter_just_ended(runs):
    assert runs["5 January"] == {
        "quarter": "2025-Q4",
        "average_grade": 1.0,
        "display": "1,0",
        "response_count": 1,
        "published_on": "2026-01-05",
    }


def test_the_quarter_is_the_plain_mean_rounded_half_up(runs):
    # (7 + 8 + 7 + 7) / 4 = 7.25, which rounds half up to 7.3 (Python's round gives 7.2).
    assert runs["quarters"] == [
        ("2025-Q4", date(2025, 10, 1), date(2025, 12, 31), 1, 1.0, Decimal("1.0"), 1),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), 4, 7.25, Decimal("7.3"), 4),
    ]
    assert runs["1 April"] == {
        "quarter": "2026-Q1",
        "average_grade": 7.3,
        "display": "7,3",
        "response_count": 4,
        "published_on": "2026-04-01",
    }
    assert "published: 2026-Q1 average 7.3 over 4 response(s)" in runs["1 April output"]


def test_by_contact_type_splits_the_same_grades(runs):
    # Not used for the figure: a mean of these means would be (8 + 7 + 7) / 3 = 7.33.
    assert runs["by type"] == [
        ("2025-Q4", None, 1, 1.0),
        ("2026-Q1", "claim_reported", 1, 8.0),
        ("2026-Q1", "service_question", 1, 7.0),
        ("2026-Q1", None, 2, 7.0),
    ]


def test_a_response_belongs_to_the_quarter_of_its_amsterdam_date(runs):
    assert runs["responses"] == [
        ("r-feb", None, date(2026, 2, 15), "2026-Q1"),
        ("r-k1", "service_question", date(2026, 1, 5), "2026-Q1"),
        ("r-k2", "claim_reported", date(2026, 3, 31), "2026-Q1"),
        ("r-new-year", None, date(2026, 1, 1), "2026-Q1"),
        ("r-q2", None, date(2026, 4, 1), "2026-Q2"),
        ("r-q4", None, date(2025, 12, 31), "2025-Q4"),
    ]


def test_a_late_grade_leaves_the_published_figure_as_it_was(runs):
    assert runs["2 April Q1"] == [(4, Decimal("7.3"))]
    assert runs["2 April"] == runs["1 April"]
    assert runs["2 April mtime"] == runs["1 April mtime"]
    assert "publication of 2026-Q1: already published" in runs["2 April output"]


def test_a_late_grade_that_would_change_the_figure_shows_as_a_restatement(runs):
    # Seven grades now, (7 + 8 + 7 + 7 + 7 + 8 + 1) / 7 = 6.43, which would publish as 6.4:
    # the website keeps 7.3, the marts show both.
    assert runs["3 April"] == runs["1 April"]
    assert runs["3 April mtime"] == runs["1 April mtime"]
    assert "publication of 2026-Q1: already published" in runs["3 April output"]
    [(count, average, published, published_on, current_count, current_average)] = runs["3 April Q1"]
    assert (count, average, published, published_on) == (
        4,
        7.25,
        Decimal("7.3"),
        date(2026, 4, 1),
    )
    assert current_count == 7
    assert current_average == pytest.approx(45 / 7)


def test_the_website_snippet_shows_the_published_figure_in_dutch(runs):
    (snippet, _) = runs["1 April website"]["klanttevredenheid.html"]
    # Valid HTML: the strict HTML5 parser raises on any parse error.
    document = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(snippet)
    assert document.get("lang") == "nl"
    text = " ".join("".join(document.find("body").itertext()).split())
    assert text == (
        "Onze klanten geven ons gemiddeld een 7,3 Gemiddeld rapportcijfer over het 1e kwartaal"
        " van 2026, op basis van 4 beoordelingen."
    )
    # Only the figure: no comment of the quarter's responses, no script, no outside resource.
    for comment in ("zomertijd", "middernacht"):
        assert comment.encode() not in snippet
    assert document.find(".//script") is None
    assert b"http" not in snippet


def test_the_share_image_is_a_social_card_of_the_published_figure(runs):
    (card, _) = runs["1 April website"]["klanttevredenheid.png"]
    image = Image.open(io.BytesIO(card))
    assert image.format == "PNG"
    assert image.size == (1200, 630)
    assert image.text["Description"] == "Onze klanten geven ons gemiddeld een 7,3"
    # Drawn, not blank: the background, the figure's blue and the text's tones.
    assert len(image.convert("RGB").getcolors(maxcolors=100_000)) > 50


def test_the_snippet_and_the_image_stand_with_the_published_figure(runs):
    assert runs["3 April website"] == runs["1 April website"]


def test_the_snippet_renders_in_a_browser(runs, browser, tmp_path):
    (snippet, _) = runs["1 April website"]["klanttevredenheid.html"]
    page = tmp_path / "klanttevredenheid.html"
    page.write_bytes(snippet)
    dom = browser.dom(page)
    assert "Onze klanten geven ons gemiddeld een" in dom
    assert 'class="klanttevredenheid-cijfer">7,3</strong>' in dom
    shot = Image.open(browser.screenshot(page, tmp_path / "shot.png", (600, 300))).convert("RGB")
    assert shot.size == (600, 300)
    # The snippet's box and its blue figure are drawn.
    colours = {colour for _, colour in shot.getcolors(maxcolors=100_000)}
    assert (0xEE, 0xF3, 0xFA) in colours
    assert any(b > 150 and r < 60 for r, g, b in colours)


def test_each_published_quarter_gets_a_report_made_once(runs):
    assert list(runs["1 April reports"]) == [
        "klanttevredenheid-2025-Q4.html",
        "klanttevredenheid-2026-Q1.html",
    ]
    # Made by the run that published the quarter; later runs leave it as it was.
    assert runs["3 April reports"] == runs["1 April reports"]
    (first, _) = runs["1 April reports"]["klanttevredenheid-2025-Q4.html"]
    assert "Er is geen eerder gepubliceerd kwartaal om mee te vergelijken." in first


def test_the_report_shows_the_figure_its_uncertainty_and_its_charts(runs):
    (report, _) = runs["1 April reports"]["klanttevredenheid-2026-Q1.html"]
    document = html5lib.HTMLParser(namespaceHTMLElements=False).parse(report)

    def text(id_: str) -> str:
        return " ".join("".join(document.find(f".//*[@id='{id_}']").itertext()).split())

    assert text("cijfer") == "7,3"
    # Four grades 7, 8, 7, 7: mean 7.25, sd 0.5, margin t(3) 3.182 x 0.25 = 0.80.
    interval = "95%-betrouwbaarheidsinterval: 6,45 tot 8,05"
    assert text("interval") == f"{interval} (gemiddelde 7,25 over 4 cijfers; marge ± 0,80)."
    assert text("verandering").startswith(
        "Vorig kwartaal (2025-Q4): 1,00. Het verschil van 6,25 is groter dan toeval"
    )
    # Charts drawn from the marts and embedded: the page works offline as one file.
    for chart in ("trend", "verdeling", "per-type"):
        assert document.find(f".//*[@id='{chart}']/{{http://www.w3.org/2000/svg}}svg") is not None
    for fetch in ("src=", "<link", "@import", "url(http", 'href="http'):
        assert fetch not in report
    # Comments are shown as text, with phone numbers, e-mail addresses and IBANs redacted.
    comments = text("opmerkingen")
    assert "<script>alert('x')</script>" in comments
    assert "<script>alert" not in report
    assert "06-12345678" not in report
    assert "[telefoonnummer verwijderd]" in comments


def test_the_report_opens_in_a_browser(runs, browser, tmp_path):
    (report, _) = runs["1 April reports"]["klanttevredenheid-2026-Q1.html"]
    page = tmp_path / "report.html"
    page.write_text(report, encoding="utf-8")
    dom = browser.dom(page)
    assert 'id="cijfer">7,3</div>' in dom
    assert dom.count("<svg") >= 3
    assert "alert('x')" in dom and "<script>alert" not in dom
    shot = Image.open(browser.screenshot(page, tmp_path / "report.png", (1000, 1400)))
    colours = {colour for _, colour in shot.convert("RGB").getcolors(maxcolors=1_000_000)}
    # The page's background, the figure's and the charts' blue, and much in between: drawn.
    assert (0xF5, 0xF7, 0xFA) in colours
    assert (0x0B, 0x5C, 0xAD) in colours
    assert len(colours) > 200


def test_every_publication_is_kept_with_its_date(runs):
    assert runs["publications"] == [
        ("2025-Q4", Decimal("1.0"), 1, 1.0, date(2026, 1, 5)),
        ("2026-Q1", Decimal("7.3"), 4, 7.25, date(2026, 4, 1)),
    ]


def test_a_figure_published_before_the_ledger_kept_them_stands_and_a_lost_file_comes_back(data):
    # A data folder from before publications were recorded: its file shows 2026-Q1 as 8,0.
    earlier = {
        "quarter": "2026-Q1",
        "average_grade": 8.0,
        "display": "8,0",
        "response_count": 1,
        "published_on": "2026-04-01",
    }
    published_file = data.root / "public" / "klanttevredenheid.json"
    published_file.parent.mkdir(parents=True)
    published_file.write_text(json.dumps(earlier), encoding="utf-8")
    data.land("kcm_responses", "kcm-2026-04-01.csv", Q1_RESPONSES)
    _, output = data.run("2026-04-02")

    assert data.published() == earlier
    assert "publication of 2026-Q1: already published" in output
    assert data.query(
        "select quarter, published_grade, response_count, average_grade, published_on,"
        " current_response_count from marts.quarterly_satisfaction"
    ) == [("2026-Q1", Decimal("8.0"), 1, None, date(2026, 4, 1), 4)]

    # The website's snippet and image are made for it as well.
    snippet = (data.root / "public" / "klanttevredenheid.html").read_text(encoding="utf-8")
    assert 'class="klanttevredenheid-cijfer">8,0</strong>' in snippet

    # The files are the newest publication: lost, the next run writes them again as they were.
    for path in (data.root / "public").iterdir():
        path.unlink()
    data.run("2026-04-03")
    assert data.published() == earlier
    assert (data.root / "public" / "klanttevredenheid.html").read_text(encoding="utf-8") == snippet
    assert Image.open(data.root / "public" / "klanttevredenheid.png").size == (1200, 630)
