"""The published figure for the website and social media, beside the JSON in `public/`:
`klanttevredenheid.html`, an embeddable Dutch snippet, and `klanttevredenheid.png`, a share image
at the usual social-card size. Both are drawn from the published figure only (the quarter, the
figure and the number of ratings): no comments and no personal data.
"""

from __future__ import annotations

import os
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

HTML_NAME = "klanttevredenheid.html"
PNG_NAME = "klanttevredenheid.png"
# The usual size of a link preview (Open Graph, X, LinkedIn): 1200 x 630 pixels.
CARD_SIZE = (1200, 630)
SENTENCE_START = "Onze klanten geven ons gemiddeld een"

_templates = Environment(
    loader=PackageLoader("feedback.publishing", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def sentence(figure: dict) -> str:
    return f"{SENTENCE_START} {figure['display']}"


def quarter_text(quarter: str) -> str:
    """2026-Q1 as it reads in Dutch: het 1e kwartaal van 2026."""
    year, number = quarter.split("-Q")
    return f"het {number}e kwartaal van {year}"


def explanation(figure: dict) -> str:
    return (
        f"Gemiddeld rapportcijfer over {quarter_text(figure['quarter'])}, "
        f"op basis van {_ratings(figure)}."
    )


def _ratings(figure: dict) -> str:
    """1.234 beoordelingen: Dutch thousands."""
    count = figure["response_count"]
    return f"{count:,}".replace(",", ".") + (" beoordeling" if count == 1 else " beoordelingen")


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def snippet(figure: dict) -> str:
    return _templates.get_template(f"{HTML_NAME}.j2").render(
        figure=figure,
        sentence_start=SENTENCE_START,
        quarter_text=quarter_text(figure["quarter"]),
        explanation=explanation(figure),
    )


def share_image(figure: dict, path: Path) -> None:
    """The figure as a 1200 x 630 PNG; its description (PNG text) is the sentence it shows."""
    # Imported here: drawing is needed only on the day a quarter is published.
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    width, height = CARD_SIZE
    card = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor="#eef3fa")
    ax = card.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    ink, accent, muted = "#10243e", "#0b5cad", "#3d5570"
    ax.text(80, 530, "Klanttevredenheid", fontsize=22, color=muted, fontweight="bold")
    ax.text(80, 450, SENTENCE_START, fontsize=32, color=ink)
    ax.text(72, 230, figure["display"], fontsize=130, color=accent, fontweight="bold")
    # The figure on its scale of 1 to 10.
    left, bottom, length, thickness = 600, 285, 520, 24
    filled = max(thickness, length * (float(figure["average_grade"]) - 1) / 9)
    for width_, colour in ((length, "#c9d6e8"), (filled, accent)):
        ax.add_patch(
            FancyBboxPatch(
                (left, bottom),
                width_,
                thickness,
                boxstyle=f"round,pad=0,rounding_size={thickness / 2}",
                color=colour,
            )
        )
    ax.text(left, bottom - 40, "1", fontsize=18, color=muted)
    ax.text(left + length, bottom - 40, "10", fontsize=18, color=muted, ha="right")
    ax.text(80, 130, _capitalised(quarter_text(figure["quarter"])), fontsize=22, color=ink)
    ax.text(80, 80, f"op basis van {_ratings(figure)}", fontsize=22, color=muted)
    _replace(
        path,
        lambda partial: card.savefig(
            partial,
            format="png",
            metadata={
                "Title": f"Klanttevredenheid {figure['quarter']}",
                "Description": sentence(figure),
            },
        ),
    )


def write(public_dir: Path, figure: dict, *, missing_only: bool = False) -> None:
    """The snippet and the share image of `figure`; with `missing_only`, only those not there."""
    public_dir.mkdir(parents=True, exist_ok=True)
    html = public_dir / HTML_NAME
    if not (missing_only and html.exists()):
        _replace(html, lambda partial: partial.write_text(snippet(figure), encoding="utf-8"))
    png = public_dir / PNG_NAME
    if not (missing_only and png.exists()):
        share_image(figure, png)


def _replace(path: Path, write_to) -> None:
    partial = path.with_name(path.name + ".partial")
    write_to(partial)
    os.replace(partial, path)
