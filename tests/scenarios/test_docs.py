"""The README and docs/ pages: every relative link reaches a file (and a heading, when it names one), the README
stays a front page, and it links every docs page. Standard library only: it runs in either venv."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")  # [text](target) and ![alt](target "title")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(page: Path) -> str:
    """The page without its code: a [x](y) inside a code block or a code span is not a link."""
    return CODE_SPAN.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))


def links(page: Path) -> list[str]:
    return LINK.findall(prose(page))


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    slugs: set[str] = set()
    counts: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = counts.get(slug, 0)
        slugs.add(f"{slug}-{count}" if count else slug)
        counts[slug] = count + 1
    return slugs


def is_external(target: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) is not None  # https:, mailto:, ...


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_reaches_a_file_and_its_heading(page):
    broken = []
    for target in links(page):
        if is_external(target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT).as_posix()}")
    assert not broken, f"{page.relative_to(ROOT).as_posix()}: " + "; ".join(broken)


def test_the_readme_is_a_front_page():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines: keep it under {README_MAX_LINES}, detail in docs/"


def test_the_readme_links_every_docs_page():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links(README) if not is_external(target)}
    missing = [page.name for page in PAGES[1:] if page.resolve() not in linked]
    assert not missing, f"README.md links no docs/ page named {missing}"


def test_the_anchor_rule_matches_github():
    page = ROOT / "docs" / "development.md"
    assert {"layout", "make-targets", "how-to-add-a-bundle-key"} <= anchors(page)


TEST_FILE = re.compile(r"\btests/[\w/]+\.py\b")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_test_file_a_page_names_exists(page: Path):
    """A page that names a test (reliability.md's table, the development page) names one that is there."""
    named = sorted(set(TEST_FILE.findall(page.read_text(encoding="utf-8"))))
    missing = [name for name in named if not (ROOT / name).is_file()]
    assert not missing, f"{page.name} names test files that don't exist: {missing}"
