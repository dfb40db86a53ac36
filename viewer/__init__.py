"""Torch-free latent-space viewer: pygame for the window, onnxruntime for the decoder, numpy between."""

import os

# numpy asks the kernel for huge pages for every array of 4 MB and more (madvise). At a million points the window
# makes a few such arrays a frame, and on a machine whose huge pages need compacting first (the default `defrag`
# setting) a new one stalled for 10-15 ms, not ~3: the first time the timeline showed each snapshot, a dropped
# frame. Off before numpy loads; a setting of the user's own wins. (docs/measured.md, "Timeline at scale")
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
