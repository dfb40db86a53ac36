"""Large files' hashes, checked once the viewer is up: the embedding's (load_bundle(defer_hash=True) left it) and
a large timeline's latents (read_timeline(defer_hash=True)), as bundle.unhashed lists them.

Hashing a million-point embedding reads all of its 800 MB (~0.4 s of a core): the first frame needs none of
it. A child process hashes it at the lowest priority once the window has been open DELAY_S and idle (no input,
nothing playing) for IDLE_S: on 2 cores, hashing beside a gesture took the memory bandwidth the frames need (a
million-point timeline's frames went from ~12 to ~20 ms while it ran), niced or not. A thread waits for its
answer. A run that ends sooner hashes at once as it ends (`Check.finish`), so even a one-frame run warns. A
mismatch is the warning load_bundle would have given.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from viewer.bundle.read import Bundle, hash_warning

DELAY_S = 2.0  # after the bundle is opened: past a start's first look around
IDLE_S = 1.0  # and this long without input or anything playing

# The child: format.sha256_file's digest of argv[1], at nice 19 (where it can be had), 16 MB at a time.
HASHER = """
import hashlib, os, sys
try:
    os.nice(19)
except (AttributeError, OSError):
    pass
digest = hashlib.sha256()
with open(sys.argv[1], "rb") as handle:
    while block := handle.read(1 << 24):
        digest.update(block)
print(digest.hexdigest())
"""


class Check:
    """The hash check under way: `busy()` puts it off while the window is in use, `finish()` ends its wait and
    waits for it."""

    def __init__(self, thread: threading.Thread, hurry: threading.Event, last_busy: list[float]):
        self.thread, self.hurry, self.last_busy = thread, hurry, last_busy

    def busy(self) -> None:
        """The window had input this frame, or something is playing: the check waits until IDLE_S after."""
        self.last_busy[0] = time.monotonic()

    def finish(self) -> None:
        self.hurry.set()
        self.thread.join()


def check_later(bundle: Bundle, notices: list[str], report: Callable[[str], None] | None = None,
                delay: float = DELAY_S) -> Check:  # fmt: skip
    """Hash each of bundle.unhashed in a child process, `delay` seconds from now and IDLE_S after the window was
    last busy (Check.busy), waited for on a daemon thread; for one that differs from bundle.json's hash,
    `report(warning)` (by default: the warning on stderr and its short form, as the viewer's HUD says it, appended
    to `notices`)."""
    report, hurry = report or (lambda line: warn(line, notices)), threading.Event()
    opened, last_busy = time.monotonic(), [float("-inf")]

    def check() -> None:
        while (wait := max(opened + delay, last_busy[0] + IDLE_S) - time.monotonic()) > 0 and not hurry.is_set():
            hurry.wait(wait)
        for name in bundle.unhashed:
            file = bundle.path / name
            try:
                done = subprocess.run([sys.executable, "-c", HASHER, str(file)], capture_output=True, text=True)
            except OSError as exc:
                report(f"{file}: cannot check its hash ({exc})")
                continue
            if done.returncode != 0:  # it was read a moment ago: gone or changed since
                lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
                report(f"{file}: cannot check its hash ({lines[-1]})")
            elif done.stdout.strip() != bundle.meta.files.get(name):
                report(hash_warning(file))

    thread = threading.Thread(target=check, name="bundle-hash", daemon=True)
    thread.start()
    return Check(thread, hurry, last_busy)


def warn(line: str, notices: list[str]) -> None:
    print(f"warning: {line}", file=sys.stderr)
    notices.append(f"{Path(line.split(': ', 1)[0]).name}: hash differs from bundle.json")
