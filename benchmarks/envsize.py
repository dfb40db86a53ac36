"""Installed size of a set of distributions and everything they require, read from their metadata."""

from __future__ import annotations

import re
from importlib import metadata


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _applies(requirement: str) -> bool:
    """Skip requirements behind an extra or a marker that doesn't hold here."""
    if ";" not in requirement:
        return True
    marker = requirement.split(";", 1)[1]
    if "extra" in marker:
        return False
    try:
        from packaging.markers import Marker

        return Marker(marker).evaluate()
    except Exception:  # no packaging, or a marker it can't read: count the package
        return True


def closure(roots: list[str]) -> dict[str, int]:
    """{distribution: bytes on disk} for roots and their installed requirements."""
    sizes: dict[str, int] = {}
    todo = [_name(root) for root in roots]
    while todo:
        name = todo.pop()
        if name in sizes:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        total = 0
        for file in dist.files or []:
            path = file.locate()
            try:
                total += path.stat().st_size
            except OSError:
                pass
        sizes[name] = total
        todo.extend(_name(req) for req in dist.requires or [] if _applies(req))
    return sizes


def closure_mb(roots: list[str]) -> dict:
    sizes = closure(roots)
    return {
        "total_mb": round(sum(sizes.values()) / 1e6, 1),
        "packages": {k: round(v / 1e6, 1) for k, v in sorted(sizes.items())},
    }
