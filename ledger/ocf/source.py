"""The bytes of an OCF package's files, read safely and within bounds (SPEC.md §10
``import-ocf``: a package is hostile input; what it asks for that is unsafe is refused
and reported, never followed).

A package is a directory (the manifest's folder) or a zip file (``.ocf.zip``) whose
members are the package, at its top or in one top folder. The rules:

- only files inside the package: a manifest ``filepath`` (or a zip member name) that is
  absolute, goes up with ``..`` or holds a NUL is refused before anything is looked up,
  and in a directory a symbolic link that resolves outside the package directory is
  refused without opening, reading or measuring what it points to;
- only regular files (no device such as ``/dev/zero``, pipe, socket or directory), and
  no symbolic link, encrypted or special member in a zip;
- at most ``MAX_FILE_BYTES`` per file: checked before reading (the size the file system
  reports, the uncompressed size a zip member declares) and enforced while reading (at
  most the limit + 1 bytes are ever read, so memory is bounded by the limit and not by
  the input); at most ``MAX_PACKAGE_BYTES`` for all the files of one package (for a zip:
  the declared sizes of all members, and the bytes counted while decompressing);
- a zip has at most ``MAX_ZIP_MEMBERS`` members, counted from its end record before its
  directory is read.

Every refusal is a ``Refused`` exception whose message is a phrase for the user.
"""

from __future__ import annotations

import lzma
import os
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO, BinaryIO, Protocol

MiB = 1 << 20
#: the largest file of a package prefledger reads (an OCF export of the nStor history is
#: about 150 KiB; a transactions file of a large cap table a few MiB)
MAX_FILE_BYTES = 64 * MiB
#: the most bytes all the files of one package may add up to (a zip: uncompressed)
MAX_PACKAGE_BYTES = 256 * MiB
#: the most members a zip package may have (directories included)
MAX_ZIP_MEMBERS = 1000
#: central directory bytes allowed per member (a 46-byte header, the name and extras)
ZIP_DIRECTORY_BYTES_PER_MEMBER = 4096
#: bytes read at a time
CHUNK = MiB
#: folder some archivers add beside the package (resource forks); ignored, still checked
MACOSX = "__MACOSX/"

_DRIVE = re.compile(r"^[A-Za-z]:")
_PARTS = re.compile(r"[/\\]")


class Refused(Exception):
    """A file (or zip member) that is not read; the message says why."""


class Missing(Refused):
    """No such file in the package."""


def size_text(n: int) -> str:
    """``64 MiB`` for whole MiB, else the number of bytes."""
    return f"{n // MiB} MiB" if n >= MiB and n % MiB == 0 else f"{n:,} bytes"


INSIDE = "the manifest may name only files inside the package"
MEMBER_INSIDE = "a zip package's members must stay inside it"


def check_relative(name: str, inside: str = INSIDE) -> list[str]:
    """The parts of a relative path inside the package; ``Refused`` for an absolute path
    or one that goes up (both ``/`` and ``\\`` count as separators)."""
    if "\x00" in name:
        raise Refused(f"holds a NUL character; {inside}")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise Refused(f"is an absolute path; {inside}")
    parts = _PARTS.split(name)
    if ".." in parts:
        raise Refused(f"goes up with '..'; {inside}")
    return parts


def read_at_most(stream: IO[bytes], limit: int) -> bytes:
    """Everything ``stream`` holds, reading at most ``limit`` + 1 bytes; ``Refused`` when
    it holds more than ``limit``."""
    buf = bytearray()
    while len(buf) <= limit:
        chunk = stream.read(min(CHUNK, limit + 1 - len(buf)))
        if not chunk:
            return bytes(buf)
        buf += chunk
    raise Refused(f"holds more than the {size_text(limit)} limit for one file")


def _kind(mode: int) -> str | None:
    """Why a file of this mode is not read (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    return "is not a regular file (a device, pipe or socket); prefledger reads only regular files"


def too_big(size: int, limit: int, what: str = "one file") -> str:
    return f"is {size_text(size)}, more than the {size_text(limit)} limit for {what}"


def open_regular(path: Path, follow: bool = False, limit: int | None = None) -> BinaryIO:
    """A regular file, open for reading; ``Refused`` for anything else or a file larger
    than ``limit`` (default ``MAX_FILE_BYTES``).

    Checked before opening (``stat``: regular, size), opened without blocking (a pipe
    cannot hold the reading up) and, unless ``follow``, without following a symbolic
    link that replaced the file meanwhile; checked again on the open file.
    """
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise Missing("no such file") from None
    except (OSError, ValueError) as exc:
        raise Refused(f"cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    _check_stat(st, limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise Refused(f"cannot be read: {exc.strerror or exc}") from None
    f = os.fdopen(fd, "rb")
    try:
        _check_stat(os.fstat(fd), limit)
    except Refused:
        f.close()
        raise
    return f


def _check_stat(st: os.stat_result, limit: int) -> None:
    why = _kind(st.st_mode)
    if why is None and st.st_size > limit:
        why = too_big(st.st_size, limit)
    if why is not None:
        raise Refused(why)


def read_open(f: IO[bytes]) -> bytes:
    """The bytes of an open file, at most ``MAX_FILE_BYTES`` (read errors refused)."""
    try:
        return read_at_most(f, MAX_FILE_BYTES)
    except OSError as exc:
        raise Refused(f"cannot be read: {exc.strerror or exc}") from None


def read_file(path: Path, follow: bool = False) -> bytes:
    """The bytes of a regular file of at most ``MAX_FILE_BYTES`` (``open_regular``)."""
    with open_regular(path, follow) as f:
        return read_open(f)


class Budget:
    """What all the files of one package may still add up to (``MAX_PACKAGE_BYTES``)."""

    def __init__(self) -> None:
        self.left = MAX_PACKAGE_BYTES

    def take(self, n: int) -> None:
        if n > self.left:
            raise Refused(f"would take the package's files past the "
                          f"{size_text(MAX_PACKAGE_BYTES)} limit for one package")
        self.left -= n


class Package(Protocol):
    """Where the files of a package are: ``locate`` a manifest ``filepath`` to a key,
    ``read`` the bytes of a key."""

    budget: Budget

    def scan(self) -> list[tuple[str, str | Refused]]: ...

    def locate(self, filepath: str) -> str: ...

    def read(self, key: str, keep: bool = True) -> bytes: ...


class Folder:
    """A package directory: the manifest and the files it lists, inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real = Path(os.path.realpath(root))
        self.budget = Budget()
        self.missing: set[str] = set()

    def resolve(self, parts: list[str]) -> Path:
        """The real path of ``parts`` below the package directory, following symbolic
        links one component at a time and never past the directory: a link whose
        target leaves it is refused without looking at the target. A path that does
        not exist is kept as missing (``read`` raises ``Missing``)."""
        outside = Refused("is a symbolic link that resolves outside the package "
                          "directory; the manifest may name only files inside the package")
        pending = [p for p in parts if p not in ("", ".")]
        cur, links = self.real, 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":  # only from a link's target (``check_relative`` came first)
                if cur == self.real:
                    raise outside
                cur = cur.parent
                continue
            nxt = cur / part
            try:
                st = os.lstat(nxt)
            except FileNotFoundError:
                key = nxt.joinpath(*pending)  # read() reports it, looking no further
                self.missing.add(str(key))
                return key
            except (OSError, ValueError) as exc:
                raise Refused(f"cannot be read: {getattr(exc, 'strerror', None) or exc}"
                              ) from None
            if not stat.S_ISLNK(st.st_mode):
                cur = nxt
                continue
            links += 1
            if links > 40:
                raise Refused("goes through more than 40 symbolic links")
            try:
                target = os.readlink(nxt)
            except OSError as exc:
                raise Refused(f"cannot be read: {exc.strerror or exc}") from None
            if target.startswith("/"):
                rel = Path(os.path.normpath(target))
                if not rel.is_relative_to(self.real):
                    raise outside
                cur = self.real
                target = rel.relative_to(self.real).as_posix()
            pending = target.split("/") + pending
        return cur

    def scan(self) -> list[tuple[str, str | Refused]]:
        """``(name, key)`` of the ``.json`` files at the top of the directory that may
        be its manifest; for one that is not read, why (a link out of the directory,
        not a regular file)."""
        out: list[tuple[str, str | Refused]] = []
        for p in sorted(self.root.iterdir()):
            if not p.name.endswith(".json"):
                continue
            try:
                real = self.resolve([p.name])
                why = _kind(os.stat(real).st_mode)
                out.append((p.name, str(real) if why is None else Refused(why)))
            except Refused as exc:
                out.append((p.name, exc))
            except OSError as exc:
                out.append((p.name, Refused(f"cannot be read: {exc.strerror or exc}")))
        return out

    def locate(self, filepath: str) -> str:
        return str(self.resolve(check_relative(filepath)))

    def read(self, key: str, keep: bool = True) -> bytes:
        """A file's bytes; ``keep``: counted against the package limit (a manifest
        candidate read and dropped is not)."""
        if key in self.missing:
            raise Missing("no such file")
        data = read_file(Path(key))
        if keep:
            self.budget.take(len(data))
        return data


def is_zip(path: Path, head: bytes) -> bool:
    """A zip package: named ``.zip`` or starting as a zip does."""
    return path.name.lower().endswith(".zip") or head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


#: a problem with one member of a zip: (member name, field, message)
MemberProblem = tuple[str, str, str]


class ZipRefused(Refused):
    """A zip package refused as a whole, with one problem per member at fault."""

    def __init__(self, problems: list[MemberProblem]) -> None:
        super().__init__("; ".join(m for _, _, m in problems))
        self.problems = problems


def _end_record(f: BinaryIO, size: int) -> tuple[int, int]:
    """``(members, central directory bytes)`` from a zip's end record (zip64 too), read
    before ``zipfile`` reads the directory itself."""
    tail_len = min(size, 22 + 0xFFFF)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise Refused("is not a zip file (no end of central directory record)")
    _, _, _, _, members, cd_size, _, _ = struct.unpack("<4s4H2LH", tail[at:at + 22])
    if members == 0xFFFF or cd_size == 0xFFFFFFFF:
        where = size - tail_len + at - 20
        if where < 0:
            raise Refused("is a damaged zip file (zip64 locator missing)")
        f.seek(where)
        loc = f.read(20)
        if len(loc) != 20 or loc[:4] != b"PK\x06\x07":
            raise Refused("is a damaged zip file (zip64 locator missing)")
        _, _, offset, _ = struct.unpack("<4sLQL", loc)
        f.seek(offset)
        rec = f.read(56)
        if len(rec) != 56 or rec[:4] != b"PK\x06\x06":
            raise Refused("is a damaged zip file (zip64 end record missing)")
        fields = struct.unpack("<4sQ2H2L4Q", rec)
        members, cd_size = fields[7], fields[8]
    return members, cd_size


_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError,
               EOFError, OSError, NotImplementedError, RuntimeError, ValueError,
               struct.error)


class ZipPackage:
    """A zip package: every member checked when it is opened, the manifest at the top or
    in the one top folder, members read with their sizes counted."""

    def __init__(self, f: BinaryIO, name: str) -> None:
        """``f``: the zip, open (``open_regular`` with ``MAX_PACKAGE_BYTES``); it must
        stay open while the package is read."""
        self.name = name
        self.budget = Budget()
        size = os.fstat(f.fileno()).st_size
        if size > MAX_PACKAGE_BYTES:
            raise Refused(too_big(size, MAX_PACKAGE_BYTES, "one package"))
        try:
            members, cd_size = _end_record(f, size)
        except OSError as exc:
            raise Refused(f"cannot be read: {exc.strerror or exc}") from None
        if members > MAX_ZIP_MEMBERS:
            raise Refused(f"has {members:,} members, more than the {MAX_ZIP_MEMBERS:,} a "
                          "package may have")
        if cd_size > MAX_ZIP_MEMBERS * ZIP_DIRECTORY_BYTES_PER_MEMBER:
            raise Refused(f"has a central directory of {size_text(cd_size)}, more than "
                          f"{MAX_ZIP_MEMBERS:,} members need")
        f.seek(0)
        try:
            self.zf = zipfile.ZipFile(f)
        except _ZIP_ERRORS as exc:
            raise Refused(f"is not a readable zip file: {exc}") from None
        try:
            self.files = self._check(self.zf.infolist())
        except Refused:
            self.zf.close()
            raise
        self.root = self._root()

    def close(self) -> None:
        self.zf.close()

    def _check(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        """The regular file members by name; ``ZipRefused`` with every member at fault."""
        if len(infos) > MAX_ZIP_MEMBERS:
            raise Refused(f"has {len(infos):,} members, more than the {MAX_ZIP_MEMBERS:,} "
                          "a package may have")
        bad: list[MemberProblem] = []
        files: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            shown = repr(name[:80])
            try:
                check_relative(name, MEMBER_INSIDE)
            except Refused as exc:
                bad.append((shown, "name", f"{name[:80]!r} {exc}"))
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                bad.append((shown, "type", "is a symbolic link; a zip package holds only "
                            "regular files"))
                continue
            if info.is_dir() or stat.S_ISDIR(mode):
                continue
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # 0: permissions only
                bad.append((shown, "type", "is not a regular file (a device, pipe or "
                            "socket); a zip package holds only regular files"))
                continue
            if info.flag_bits & 0x1:
                bad.append((shown, "type", "is encrypted; prefledger reads only "
                            "unencrypted zip packages"))
                continue
            if name in files:
                bad.append((shown, "name", "is in the zip twice"))
                continue
            if info.file_size > MAX_FILE_BYTES:
                bad.append((shown, "size", f"declares {size_text(info.file_size)} "
                            f"uncompressed, more than the {size_text(MAX_FILE_BYTES)} limit "
                            "for one file"))
                continue
            total += info.file_size
            files[name] = info
        if not bad and total > MAX_PACKAGE_BYTES:
            bad.append(("(zip)", "size", f"its members declare {size_text(total)} "
                        f"uncompressed, more than the {size_text(MAX_PACKAGE_BYTES)} limit "
                        "for one package"))
        if bad:
            raise ZipRefused(bad)
        return files

    def _root(self) -> str:
        """The package's folder: the top of the zip, or its one top folder."""
        names = [n for n in self.files if not n.startswith(MACOSX)]
        if any("/" not in n for n in names):
            return ""
        tops = {n.split("/", 1)[0] for n in names}
        return f"{tops.pop()}/" if len(tops) == 1 else ""

    def scan(self) -> list[tuple[str, str | Refused]]:
        """``(name, key)`` of the ``.json`` members in the package's folder."""
        out: list[tuple[str, str | Refused]] = []
        for n in sorted(self.files):
            rest = n[len(self.root):] if n.startswith(self.root) else None
            if rest and "/" not in rest and rest.endswith(".json"):
                out.append((rest, n))
        return out

    def locate(self, filepath: str) -> str:
        parts = check_relative(filepath)
        return self.root + "/".join(p for p in parts if p not in ("", "."))

    def read(self, key: str, keep: bool = True) -> bytes:
        """A member's bytes, counted while decompressing (at most the limit + 1)."""
        info = self.files.get(key)
        if info is None:
            raise Missing("no such file")
        try:
            with self.zf.open(info) as f:
                data = read_at_most(f, MAX_FILE_BYTES)
        except Refused:
            raise
        except _ZIP_ERRORS as exc:
            raise Refused(f"is a damaged zip member: {exc}") from None
        if keep:
            self.budget.take(len(data))
        return data
