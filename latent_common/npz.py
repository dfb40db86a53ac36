""".npz archives read member by member, each .npy header checked before a byte of its data is read.

np.load reads every member it is asked for, whatever size its header declares: a dataset holding an unused
member that inflates to 3 GB, or one whose header declares 10^9 images, dies in numpy's allocator. Here only
the members named are read, a header's declared size is held to a byte limit first, pickled (object) arrays
are refused from the header, and a member is inflated only to its declared size (a deflate bomb, which
must declare less than it inflates to, stops there). The file itself must be a regular file
(latent_common.files.open_regular): a FIFO is one line, not a hang.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from tokenize import TokenError
from typing import BinaryIO, NamedTuple

import numpy as np

from latent_common.errors import UserError, reason
from latent_common.files import open_regular, shown

Header = tuple[tuple[int, ...], bool, np.dtype]  # shape, fortran_order, dtype


def npy_header(stream: BinaryIO, file: Path, key: str, error: type[UserError]) -> Header:
    """(shape, fortran_order, dtype) from a .npy header; the data stays unread."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream)
    except (ValueError, SyntaxError, TokenError) as exc:  # numpy tokenizes old headers: garbage can raise TokenError
        raise error(f"{shown(file)}: '{key}' is not a .npy array ({reason(exc, 120)})") from None
    raise error(f"{shown(file)}: '{key}' is a .npy file of version {version}, which isn't read here")


def read_member(
    archive: zipfile.ZipFile,
    file: Path,
    key: str,
    limit: int,
    error: type[UserError],
    check: Callable[[tuple[int, ...], np.dtype], None] | None = None,
    over_limit: str | None = None,
) -> np.ndarray:
    """The array key.npy of archive, refused from its header if it is pickled or declares over limit bytes.

    check(shape, dtype) raises for a header its caller can't take (the bundle's contract), before anything is read;
    over_limit: the caller's own words for an array past the limit."""
    try:
        with archive.open(f"{key}.npy") as stream:
            shape, fortran, dtype = npy_header(stream, file, key, error)
            if check is not None:
                check(tuple(shape), dtype)
            if dtype.hasobject:
                raise error(f"{shown(file)}: '{key}' holds pickled Python objects, which are refused")
            size = math.prod(shape) * dtype.itemsize
            if size > limit:
                raise error(
                    over_limit
                    or f"{shown(file)}: '{key}' declares {list(shape)} {dtype}, {size:,} bytes: over the limit of "
                    f"{limit:,} bytes for what is read"
                )
            data = stream.read(size)
            trailing = stream.read(1)  # reading to the end also makes zipfile check the CRC
    except KeyError:
        raise error(f"{shown(file)}: missing array '{key}'") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise error(f"{shown(file)}: '{key}' is truncated or corrupt ({reason(exc, 120)})") from None
    except (NotImplementedError, RuntimeError, OSError, ValueError) as exc:  # unknown compression, encryption, I/O
        raise error(f"{shown(file)}: '{key}' cannot be read ({reason(exc, 120)})") from None
    if len(data) < size:
        raise error(f"{shown(file)}: '{key}' is truncated ({len(data)} of {size} data bytes)")
    if trailing:
        raise error(f"{shown(file)}: '{key}' holds more data than its header declares")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.ascontiguousarray(array, dtype=dtype.newbyteorder("="))


# Memory-mapping an uncompressed member: its bytes sit in the file as they are, after the member's local
# header (30 bytes, then its name and extra field, whose lengths only the local header gives) and the .npy header.
LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, 22 bytes we don't need, name length, extra length
LOCAL_SIGNATURE = b"PK\x03\x04"


def stored(info: zipfile.ZipInfo) -> bool:
    """Whether a member's bytes can be used in place: neither compressed nor encrypted."""
    return info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1 and info.compress_size == info.file_size


class Stored(NamedTuple):
    """Where a stored member's data lies in its file: read in place, as a whole or a row at a time."""

    offset: int  # of its first data byte
    shape: tuple[int, ...]
    dtype: np.dtype


def stored_member(
    file: Path,
    info: zipfile.ZipInfo,
    key: str,
    error: type[UserError],
    check: Callable[[tuple[int, ...], np.dtype], None] | None = None,
) -> Stored | None:
    """Where a stored member's data lies (see `stored`), its .npy header checked first (check(shape, dtype) as
    read_member's); None for a Fortran-ordered array (read it instead: its rows would be scattered).

    The zip's CRC is not checked (that would read every byte): the caller's hash covers the file. The member's
    size must match its header exactly, as when it is read.
    """
    try:
        with open_regular(file, error) as handle:
            handle.seek(info.header_offset)
            local = handle.read(LOCAL_HEADER.size)
            if len(local) < LOCAL_HEADER.size or local[:4] != LOCAL_SIGNATURE:
                raise error(f"{shown(file)}: '{key}' is truncated or corrupt (its local zip header is missing)")
            name_length, extra_length = LOCAL_HEADER.unpack(local)[1:]
            start = info.header_offset + LOCAL_HEADER.size + name_length + extra_length
            handle.seek(start)
            shape, fortran, dtype = npy_header(handle, file, key, error)
            if check is not None:
                check(tuple(shape), dtype)
            if dtype.hasobject:
                raise error(f"{shown(file)}: '{key}' holds pickled Python objects, which are refused")
            if fortran:
                return None
            data_start, end = handle.tell(), start + info.compress_size
            size = math.prod(shape) * dtype.itemsize
            if data_start + size > min(end, os.fstat(handle.fileno()).st_size):
                raise error(f"{shown(file)}: '{key}' is truncated (its header declares {size} data bytes)")
            if data_start + size < end:
                raise error(f"{shown(file)}: '{key}' holds more data than its header declares")
    except (OSError, ValueError) as exc:  # I/O
        raise error(f"{shown(file)}: '{key}' cannot be read ({reason(exc, 120)})") from None
    return Stored(data_start, tuple(shape), dtype)


def map_member(
    file: Path,
    info: zipfile.ZipInfo,
    key: str,
    error: type[UserError],
    check: Callable[[tuple[int, ...], np.dtype], None] | None = None,
) -> np.ndarray | None:
    """A stored member as a read-only array over the file's pages (see stored_member). A file cut short while
    mapped would fault the process (SIGBUS) where a page is gone: map only what a hash covers and nothing edits."""
    where = stored_member(file, info, key, error, check)
    if where is None:
        return None
    try:
        with file.open("rb") as handle:
            pages = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)  # stays valid once the file is closed
    except (OSError, ValueError) as exc:  # I/O, or a file mmap refuses
        raise error(f"{shown(file)}: '{key}' cannot be read ({reason(exc, 120)})") from None
    return np.frombuffer(pages, dtype=where.dtype, count=math.prod(where.shape), offset=where.offset).reshape(
        where.shape
    )


def read_row(handle: BinaryIO, where: Stored, index: int, file: Path, key: str, error: type[UserError]) -> np.ndarray:
    """Row `index` of a stored member, read from an open handle at its place (os.pread: no shared position, so
    threads may read at once), native byte order. A file cut short since is one error, not a fault."""
    shape = where.shape[1:]
    size = math.prod(shape) * where.dtype.itemsize
    try:
        data = os.pread(handle.fileno(), size, where.offset + index * size)
    except OSError as exc:
        raise error(f"{shown(file)}: '{key}[{index}]' cannot be read ({exc.strerror or reason(exc)})") from None
    if len(data) < size:
        raise error(f"{shown(file)}: '{key}[{index}]' is cut short (the file changed since it was opened)")
    return np.frombuffer(data, dtype=where.dtype).reshape(shape).astype(where.dtype.newbyteorder("="), copy=False)


def read_arrays(file: Path, keys: Iterable[str], limit: int, error: type[UserError]) -> dict[str, np.ndarray]:
    """The arrays of keys that the archive holds (others are never read), all together within limit bytes."""
    open_regular(file, error).close()  # a FIFO, a folder or a device is one line before zipfile opens it
    try:
        archive = zipfile.ZipFile(file)
    except OSError as exc:
        raise error(f"{shown(file)}: cannot read ({exc.strerror or reason(exc)})") from None
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise error(f"{shown(file)}: not a readable .npz archive (a zip of .npy arrays): {reason(exc, 120)}") from None
    arrays = {}
    with archive:
        names = set(archive.namelist())
        for key in keys:
            if f"{key}.npy" in names:
                arrays[key] = read_member(archive, file, key, limit, error)
                limit -= arrays[key].nbytes
    return arrays
