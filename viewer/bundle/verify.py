"""The embedding's hash, checked on a thread once the viewer is up (load_bundle(defer_hash=True) left it).

Hashing a million-point embedding reads all of its 800 MB: the first frame needs none of it. hashlib and file
reads release the GIL, so on a second core this costs the frame loop nothing; a mismatch is reported as the
warning load_bundle would have given.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

from latent_common.files import open_regular
from viewer.bundle.format import EMBEDDING, BundleError, sha256_file
from viewer.bundle.read import Bundle, hash_warning


def check_later(bundle: Bundle, notices: list[str], report: Callable[[str], None] | None = None) -> threading.Thread:
    """Hash the embedding on a daemon thread; if it differs from bundle.json's hash, `report(warning)` (by default:
    the warning on stderr and its short form, as the viewer's HUD says it, appended to `notices`)."""
    report = report or (lambda line: warn(line, notices))

    def check() -> None:
        file = bundle.path / EMBEDDING
        try:
            with open_regular(file, BundleError, "missing") as handle:
                actual = sha256_file(handle)
        except (OSError, BundleError) as exc:  # it was read a moment ago: gone or changed since
            report(f"{file}: cannot check its hash ({exc})")
            return
        if actual != bundle.meta.files.get(EMBEDDING):
            report(hash_warning(file))

    thread = threading.Thread(target=check, name="embedding-hash", daemon=True)
    thread.start()
    return thread


def warn(line: str, notices: list[str]) -> None:
    print(f"warning: {line}", file=sys.stderr)
    notices.append(f"{Path(line.split(': ', 1)[0]).name}: hash differs from bundle.json")
