"""Nothing the docs name is stale: every path, module, model, relation and make target that the
README, docs/ and benchmarks/README.md name exists in the repository.

A path counts where it starts with a folder or file of the repository's root (`models/...`,
`feedback/...`, `Makefile`); `<...>` and `*` in it match any name. Paths under the data folder
(`landing/`, `outbox/`) are the contract's, not the repository's, and are left out.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").rglob("*.md")]
)
# What the repository holds at its root (not what runs leave there, such as data/ or logs/).
TOP_LEVEL = {
    name.split("/")[0]
    for name in subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
}
SCHEMAS = {"marts", "audit"}


def _exists(relative: str, base: Path = ROOT) -> bool:
    pattern = re.sub(r"<[^>]*>", "*", relative.rstrip("/"))
    if "*" in pattern:
        return any(base.glob(pattern))
    return (base / pattern).exists()


def _module_exists(dotted: str) -> bool:
    """`feedback.core.warehouse`, or one attribute of a module: `feedback.core.warehouse.held`."""
    path = ROOT.joinpath(*dotted.split("."))
    return (
        path.with_suffix(".py").exists()
        or (path / "__init__.py").exists()
        or path.parent.with_suffix(".py").exists()
    )


def _spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text)


def _layout_paths(text: str) -> list[str]:
    """The folders and files of the README's layout tree: a name at the left margin, and the
    names indented under it."""
    block = re.search(r"## Layout.*?```\n(.*?)```", text, re.S)
    if not block:
        return []
    paths, top = [], ""
    for line in block.group(1).splitlines():
        name = line.split()[0] if line.strip() else ""
        if not name.endswith("/"):
            continue
        if not line.startswith(" "):
            top = name
            paths.append(name)
        elif line.startswith("  ") and not line.startswith("   " * 8) and top:
            paths.append(top + name)
    return paths


def problems_of(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    found = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        if not _exists(target.split("#")[0], page.parent):
            found.append(f"link {target}")
    for span in _spans(text):
        for word in span.split():
            word = word.strip(",;:()")
            first = word.split("/")[0]
            if (
                first in TOP_LEVEL
                and ("/" in word or (ROOT / first).is_file())
                and not _exists(word)
            ):
                found.append(f"path {word}")
            elif re.fullmatch(r"(feedback|feedback_cli|orchestration)(\.\w+)+", word):
                if not _module_exists(word):
                    found.append(f"module {word}")
            elif re.fullmatch(r"(base|stg|int)_\w+__\w+", word):
                if not any(ROOT.glob(f"models/**/{word}.sql")):
                    found.append(f"model {word}")
            elif re.fullmatch(r"(marts|audit)\.\w+", word):
                schema, name = word.split(".")
                if not (ROOT / "models" / schema / f"{name}.sql").exists():
                    found.append(f"relation {word}")
        if span.startswith("make "):
            target = span.split()[1]
            if not re.search(rf"^{re.escape(target)}:", (ROOT / "Makefile").read_text(), re.M):
                found.append(f"make target {target}")
    if page.name == "README.md" and page.parent == ROOT:
        found += [f"layout {path}" for path in _layout_paths(text) if not _exists(path)]
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_path_the_docs_name_exists(page):
    assert problems_of(page) == []


def test_the_check_finds_a_stale_name(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "See `feedback/loading.py`, `feedback.cli`, `int_contacts__gone`, `marts.nothing`,"
        " `make benchmark` and [the old page](docs/old.md).\n"
    )
    assert problems_of(page) == [
        "link docs/old.md",
        "path feedback/loading.py",
        "module feedback.cli",
        "model int_contacts__gone",
        "relation marts.nothing",
        "make target benchmark",
    ]


def test_the_readme_guides_in_about_150_lines():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150
