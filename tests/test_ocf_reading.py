"""Reading OCF packages safely and within bounds (``import-ocf`` on hostile input).

A package is hostile input: a manifest may point anywhere, a file may be a device or a
pipe, huge, or nested without end, a zip may hold links, paths out of the package or a
bomb. Each case runs through the command line on both stores and must end the same way:
exit 2, one line per problem naming the file and the field, nothing stored, no
traceback; and nothing outside the package is opened, measured or printed.

The package is a tiny export (3 events): Series K designated on 2001-11-19 with 1,000
common issued, and 10 K issued to Oak on 2001-12-01.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import json
import os
import resource
import shutil
import signal
import stat
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.cli import app
from ledger.ocf import safejson, source
from ledger.ocf.source import Refused, ZipPackage, read_at_most

from .conftest import write_jsonl

MANIFEST = "Manifest.ocf.json"
TRANSACTIONS = "Transactions.ocf.json"
FILES = [MANIFEST, "Stakeholders.ocf.json", "StockClasses.ocf.json", TRANSACTIONS]
TX_PATH = ("Manifest.ocf.json", "OCF_MANIFEST_FILE", "transactions_files[0].filepath")
BOM = b"\xef\xbb\xbf"

EVENTS = [
    {"id": "r-1", "type": "SeriesDesignated", "effective_date": "2001-11-19", "series": "K",
     "terms_ref": "nstor/K"},
    {"id": "r-2", "type": "CommonStockIssued", "effective_date": "2001-11-19",
     "shares": "1000", "kind": "opening"},
    {"id": "r-3", "type": "SharesIssued", "effective_date": "2001-12-01", "series": "K",
     "holder": "Oak", "shares": "10"},
]


@pytest.fixture(scope="module")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("small")
    runner = CliRunner()
    db = str(base / "ledger.db")
    r = runner.invoke(app, ["--db", db, "load", str(write_jsonl(base / "e.jsonl", EVENTS))])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--db", db, "export-ocf", "--as-of", "2001-12-31", "--to",
                            str(base / "pkg")])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (base / "pkg").iterdir()) == sorted(FILES)
    return base / "pkg"


@pytest.fixture
def pkg(small_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small_export, tmp_path / "pkg"))


@pytest.fixture
def outside(small_export: Path, tmp_path: Path) -> Path:
    """A folder beside the package with a valid transactions file in it."""
    d = tmp_path / "outside"
    d.mkdir()
    shutil.copy(small_export / TRANSACTIONS, d / TRANSACTIONS)
    return d


def up(*parts: str, sep: str = "/") -> str:
    """A path that goes up out of the package (hostile input; what it reaches is a
    sibling of the package below ``tmp_path``, never anything of the repository)."""
    return sep.join(["..", *parts])


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def manifest(pkg: Path) -> dict[str, Any]:
    return json.loads((pkg / MANIFEST).read_text())


def set_entry(pkg: Path, filepath: str, digest: str | None = None, key: str =
              "transactions_files") -> None:
    doc = manifest(pkg)
    doc[key][0]["filepath"] = filepath
    if digest is not None:
        doc[key][0]["md5"] = digest
    (pkg / MANIFEST).write_text(json.dumps(doc, indent=2))


def fix_md5(pkg: Path) -> None:
    doc = manifest(pkg)
    for k, entries in doc.items():
        if k.endswith("_files"):
            for e in entries:
                e["md5"] = md5((pkg / e["filepath"]).read_bytes())
    (pkg / MANIFEST).write_text(json.dumps(doc, indent=2))


@contextlib.contextmanager
def memory_cap(extra: int = 2 << 30) -> Iterator[None]:
    """At most ``extra`` more bytes of address space: a reader that did not bound its
    reads (of /dev/zero, say) fails with MemoryError instead of exhausting the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = used + extra if hard == resource.RLIM_INFINITY else min(used + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def rejected(cli: Any, *args: Any) -> list[tuple[str, str, str, str]]:
    """Run ``import-ocf`` twice (JSON, text): exit 2, no traceback, one line per problem,
    nothing stored. The problems as (file, object id, field, message)."""
    before = cli.spec.content()
    with memory_cap():
        r = cli("import-ocf", *map(str, args), "--json")
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    out = json.loads(r.stdout)
    assert out["stored"] is False
    probs = [(p["file"], p["object_id"], p["field"], p["message"]) for p in out["problems"]]
    with memory_cap():
        t = cli("import-ocf", *map(str, args))
    assert t.exit_code == 2 and "Traceback" not in t.output
    assert t.stderr.splitlines() == [
        f"rejected: {len(probs)} problem(s); nothing was stored",
        *(f"  {f} object {o} field {fld}: {m}" for f, o, fld, m in probs)]
    assert cli.spec.content() == before == []
    return probs


def imported(cli: Any, *args: Any) -> dict[str, Any]:
    r = cli("import-ocf", *map(str, args), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    # the three events, and the position they make: 1,000 common, 10 K held by Oak (the
    # common, imported without a holder, is the unattributed holder's line)
    assert (out["appended"], out["already_present"]) == (3, 0)
    pos = cli.json("position", "--as-of", "2001-12-31")
    assert pos["common_outstanding"] == "1000"
    assert [(h["holder"], h["series"], h["shares"]) for h in pos["holders"]] == [
        ("Oak", "K", "10"), (None, "common", "1000")]
    return out


def only(probs: list[tuple[str, str, str, str]], where: tuple[str, str, str],
         *words: str) -> str:
    """The one problem, at ``where``, its message holding every word."""
    assert [p[:3] for p in probs] == [where], probs
    message = probs[0][3]
    for w in words:
        assert w in message, message
    return message


@contextlib.contextmanager
def touched(*roots: Path) -> Iterator[list[str]]:
    """Every path below ``roots`` that is opened, stat'ed, lstat'ed or read as a link."""
    seen: list[str] = []
    real = [os.path.realpath(r) for r in roots]
    mp = pytest.MonkeyPatch()

    def spy(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(path: Any, *a: Any, **kw: Any) -> Any:
            p = os.fspath(path) if not isinstance(path, int) else ""
            if any(str(p).startswith(r) for r in [*map(str, roots), *real]):
                seen.append(str(p))
            return fn(path, *a, **kw)
        return wrapper

    for name in ("open", "stat", "lstat", "readlink"):
        mp.setattr(os, name, spy(getattr(os, name)))
    mp.setattr(io, "open", spy(io.open))
    mp.setattr(builtins, "open", spy(builtins.open))
    try:
        yield seen
    finally:
        mp.undo()


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail (rather than hang) if the reading blocks, e.g. on a pipe."""
    class Blocked(Exception):
        pass

    def on_alarm(signum: int, frame: Any) -> None:
        raise Blocked(f"blocked for {seconds}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# -- the package as exported reads ---------------------------------------------------------

def test_the_small_package_imports(cli: Any, pkg: Path) -> None:
    imported(cli, pkg)


def test_a_link_inside_the_package_is_followed(cli: Any, pkg: Path) -> None:
    (pkg / "sub").mkdir()
    (pkg / TRANSACTIONS).rename(pkg / "sub" / "tx.json")
    os.symlink("sub/tx.json", pkg / "link.json")
    set_entry(pkg, "./link.json")
    imported(cli, pkg)


# -- only files inside the package ---------------------------------------------------------

OUTSIDE_PATHS: dict[str, tuple[Callable[[Path, Path], str], str]] = {
    # name: (set the transactions filepath (pkg, outside) -> the outside file, words)
    "absolute path of a valid file": (
        lambda pkg, out: str(out / TRANSACTIONS), "is an absolute path"),
    "/etc/passwd": (lambda pkg, out: "/etc/passwd", "is an absolute path"),
    "/dev/zero": (lambda pkg, out: "/dev/zero", "is an absolute path"),
    "drive letter": (lambda pkg, out: "C:\\Windows\\win.ini", "is an absolute path"),
    "up with ..": (lambda pkg, out: up("outside", TRANSACTIONS), "goes up with '..'"),
    "down then up": (lambda pkg, out: "./sub/" + up("..", "outside", TRANSACTIONS),
                     "goes up with '..'"),
    "up with a backslash": (lambda pkg, out: up("outside", TRANSACTIONS, sep="\\"),
                            "goes up with '..'"),
    "NUL": (lambda pkg, out: f"./{TRANSACTIONS}\x00.txt", "holds a NUL character"),
}


@pytest.mark.parametrize("case", sorted(OUTSIDE_PATHS))
def test_a_manifest_path_out_of_the_package_is_refused(
        cli: Any, pkg: Path, outside: Path, case: str) -> None:
    fn, words = OUTSIDE_PATHS[case]
    fp = fn(pkg, outside)
    target = Path(fp) if fp.startswith("/") else outside / TRANSACTIONS
    digest = md5(target.read_bytes()) if target.is_file() else "0" * 32
    set_entry(pkg, fp, digest)  # the right md5: today's reader would take the file
    with touched(outside, Path("/etc/passwd"), Path("/dev/zero")) as seen:
        probs = rejected(cli, pkg)
    message = only(probs, TX_PATH, words, "inside the package")
    assert seen == []  # never opened, never stat'ed
    assert digest not in " ".join(p[3] for p in probs)
    assert "root:" not in message


@pytest.mark.parametrize("link", ["file", "folder", "absolute"])
def test_a_link_out_of_the_package_is_refused(cli: Any, pkg: Path, outside: Path,
                                              link: str) -> None:
    digest = md5((outside / TRANSACTIONS).read_bytes())
    (pkg / TRANSACTIONS).unlink()
    if link == "file":
        os.symlink(up("outside", TRANSACTIONS), pkg / TRANSACTIONS)
        set_entry(pkg, f"./{TRANSACTIONS}", digest)
    elif link == "folder":
        os.symlink(up("outside"), pkg / "sub")
        set_entry(pkg, f"sub/{TRANSACTIONS}", digest)
    else:
        os.symlink(str(outside / TRANSACTIONS), pkg / TRANSACTIONS)
        set_entry(pkg, f"./{TRANSACTIONS}", digest)
    with touched(outside) as seen:
        probs = rejected(cli, pkg)
    only(probs, TX_PATH, "symbolic link that resolves outside the package directory")
    assert seen == []
    assert digest not in probs[0][3]


def test_a_manifest_link_out_of_the_directory_is_not_read(cli: Any, pkg: Path,
                                                          outside: Path) -> None:
    shutil.move(str(pkg / MANIFEST), str(outside / MANIFEST))
    os.symlink(up("outside", MANIFEST), pkg / MANIFEST)
    with touched(outside) as seen:
        probs = rejected(cli, pkg)
    assert [p[:3] for p in probs] == [(MANIFEST, "(file)", "(file)"),
                                      ("pkg", "(directory)", "file_type")]
    assert "resolves outside the package directory" in probs[0][3]
    assert "no OCF manifest" in probs[1][3]
    assert seen == []


# -- only regular files --------------------------------------------------------------------

def test_a_directory_named_as_a_file_is_refused(cli: Any, pkg: Path) -> None:
    (pkg / "folder.json").mkdir()
    set_entry(pkg, "./folder.json")
    only(rejected(cli, pkg), TX_PATH, "is a directory, not a file")


def test_a_pipe_named_as_a_file_is_refused_without_blocking(cli: Any, pkg: Path) -> None:
    os.mkfifo(pkg / "pipe.json")
    set_entry(pkg, "./pipe.json")
    with deadline(20):
        probs = rejected(cli, pkg)
    only(probs, TX_PATH, "is not a regular file")


@pytest.mark.parametrize("what", ["/dev/zero", "pipe"])
def test_a_device_or_pipe_as_the_path_is_refused(cli: Any, tmp_path: Path, what: str) -> None:
    path = Path(what)
    if what == "pipe":
        path = tmp_path / "pipe.ocf.json"
        os.mkfifo(path)
    with deadline(20):
        probs = rejected(cli, path)
    only(probs, (path.name, "(file)", "(file)"), f"{str(path)!r} is not a regular file")


# -- size limits ---------------------------------------------------------------------------

def test_the_file_size_limit_is_checked_before_reading(
        cli: Any, pkg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of limit + 1 bytes is refused, one of exactly the limit read."""
    limit = max((pkg / n).stat().st_size for n in FILES) + 100
    monkeypatch.setattr(source, "MAX_FILE_BYTES", limit)
    tx = pkg / TRANSACTIONS
    text = tx.read_bytes().rstrip()
    tx.write_bytes(text + b" " * (limit + 1 - len(text)))  # JSON allows trailing blanks
    fix_md5(pkg)
    assert tx.stat().st_size == limit + 1
    only(rejected(cli, pkg), TX_PATH, f"is {limit + 1:,} bytes, more than the {limit:,} "
         "bytes limit for one file")
    tx.write_bytes(text + b" " * (limit - len(text)))
    fix_md5(pkg)
    imported(cli, pkg)


def test_a_manifest_over_the_limit_is_named(cli: Any, pkg: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    largest = max((pkg / n).stat().st_size for n in FILES)
    m = pkg / MANIFEST
    m.write_bytes(m.read_bytes() + b" " * (largest + 100 - m.stat().st_size))
    size = m.stat().st_size  # the largest file: the one over the limit
    monkeypatch.setattr(source, "MAX_FILE_BYTES", size - 1)
    probs = rejected(cli, pkg / MANIFEST)
    only(probs, (MANIFEST, "(file)", "(file)"), f"is {size:,} bytes, more than the "
         f"{size - 1:,} bytes limit for one file")
    probs = rejected(cli, pkg)  # the directory: the manifest is the file not read
    assert [p[:3] for p in probs] == [(MANIFEST, "(file)", "(file)"),
                                      ("pkg", "(directory)", "file_type")]


def test_the_package_size_limit(cli: Any, pkg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files a manifest lists add up: past the package limit, the one that would
    cross it is refused (manifest + stakeholders + classes fit, transactions do not)."""
    sizes = {n: (pkg / n).stat().st_size for n in FILES}
    monkeypatch.setattr(source, "MAX_PACKAGE_BYTES", sum(sizes.values()) - 1)
    only(rejected(cli, pkg), TX_PATH, "past the", "limit for one package")


def test_reading_stops_at_the_limit_plus_one_byte() -> None:
    """Enforced while reading, whatever the file system said: an endless stream (like
    /dev/zero) is read for limit + 1 bytes, then refused."""
    class Endless(io.RawIOBase):
        given = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            n = len(b)
            b[:n] = b"0" * n
            self.given += n
            return n

    stream = Endless()
    with pytest.raises(Refused, match="more than the 3 MiB limit"):
        read_at_most(stream, 3 * source.MiB)  # type: ignore[arg-type]
    assert stream.given == 3 * source.MiB + 1
    assert read_at_most(io.BytesIO(b"x" * 1000), 1000) == b"x" * 1000
    with pytest.raises(Refused):
        read_at_most(io.BytesIO(b"x" * 1001), 1000)


# -- nesting -------------------------------------------------------------------------------

@pytest.mark.parametrize("levels", [100, 100_000])
def test_json_nested_too_deeply_is_refused(cli: Any, pkg: Path, levels: int) -> None:
    doc = json.loads((pkg / TRANSACTIONS).read_text())
    text = json.dumps(doc)
    deep = "[" * levels + "]" * levels
    (pkg / TRANSACTIONS).write_text(text.replace('"items": [', f'"x": {deep}, "items": [', 1))
    fix_md5(pkg)
    only(rejected(cli, pkg), (TRANSACTIONS, "(file)", "(file)"),
         "nested more than 64 levels deep")


def test_a_deep_comment_line_is_refused(cli: Any, pkg: Path) -> None:
    doc = json.loads((pkg / TRANSACTIONS).read_text())
    item = doc["items"][0]
    item["comments"].append("prefledger:event " + "[" * 50_000 + "]" * 50_000)
    (pkg / TRANSACTIONS).write_text(json.dumps(doc))
    fix_md5(pkg)
    n = len(item["comments"]) - 1
    only(rejected(cli, pkg), (TRANSACTIONS, item["id"], f"comments[{n}]"),
         "prefledger:event line is not valid JSON", "nested more than 64 levels deep")


def test_a_deep_terms_file_is_refused(cli: Any, pkg: Path, tmp_path: Path) -> None:
    deep = tmp_path / "terms.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    only(rejected(cli, pkg, "--terms", deep), ("terms.json", "(file)", "(file)"),
         "nested more than 64 levels deep")


def test_depth_is_counted_without_recursion() -> None:
    # 64 levels: [[...{}...]] with 63 brackets around the object; strings do not count
    assert safejson.depth("[" * 63 + '{"a": "[[[["}' + "]" * 63) == 64
    assert safejson.loads("[" * 63 + "{}" + "]" * 63) is not None
    with pytest.raises(safejson.JsonTooDeep):
        safejson.loads("[" * 64 + "{}" + "]" * 64)  # 65 levels
    assert safejson.depth('{"a": [1, {"b": [[]]}], "c": "]]]"}') == 5
    assert safejson.depth("[" * 10**6) == 10**6  # unbalanced: counted, not recursed


# -- a byte order mark ---------------------------------------------------------------------

def test_a_byte_order_mark_is_accepted(cli: Any, pkg: Path) -> None:
    for name in FILES:
        if name != MANIFEST:
            (pkg / name).write_bytes(BOM + (pkg / name).read_bytes())
    fix_md5(pkg)  # the md5 is of the file as it is, mark included
    (pkg / MANIFEST).write_bytes(BOM + (pkg / MANIFEST).read_bytes())
    imported(cli, pkg)


# -- zip packages --------------------------------------------------------------------------

def make_zip(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None,
             dirs: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for d in dirs:
            z.writestr(zipfile.ZipInfo(d), b"")
        for name, data in members.items():
            z.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)
    return path


def package_members(pkg: Path, prefix: str = "") -> dict[str, bytes]:
    return {prefix + n: (pkg / n).read_bytes() for n in FILES}


@pytest.mark.parametrize("prefix", ["", "nstor-small/"])
def test_a_zip_package_imports(cli: Any, pkg: Path, tmp_path: Path, prefix: str) -> None:
    """At the top of the zip or in its one top folder (a folder entry or not)."""
    dirs = (prefix,) if prefix else ()
    z = make_zip(tmp_path / "small.ocf.zip", package_members(pkg, prefix), dirs=dirs)
    imported(cli, z)


def test_a_zip_made_on_a_mac_imports(cli: Any, pkg: Path, tmp_path: Path) -> None:
    members = package_members(pkg, "p/")
    members["__MACOSX/p/._Manifest.ocf.json"] = b"\x00\x05\x16\x07"
    imported(cli, make_zip(tmp_path / "small.ocf.zip", members))


def test_a_zip_with_a_byte_order_mark_imports(cli: Any, pkg: Path, tmp_path: Path) -> None:
    members = {n: (BOM + d if n != MANIFEST else d) for n, d in package_members(pkg).items()}
    doc = json.loads(members[MANIFEST])
    for k, entries in doc.items():
        if k.endswith("_files"):
            for e in entries:
                e["md5"] = md5(members[e["filepath"].removeprefix("./")])
    members[MANIFEST] = BOM + json.dumps(doc).encode()
    imported(cli, make_zip(tmp_path / "small.ocf.zip", members))


BAD_MEMBERS: dict[str, tuple[dict[str, bytes], dict[str, str], tuple[str, str], str]] = {
    # name: (extra members, link members, (object id, field), words)
    "absolute": ({"/etc/cron.d/x.json": b"{}"}, {}, ("'/etc/cron.d/x.json'", "name"),
                 "is an absolute path"),
    "up": ({up("..", "x.json"): b"{}"}, {}, (repr(up("..", "x.json")), "name"),
           "goes up with '..'"),
    "up inside": ({"a/" + up("..", "x.json"): b"{}"}, {},
                  (repr("a/" + up("..", "x.json")), "name"), "goes up with '..'"),
    "backslash": ({up("x.json", sep="\\"): b"{}"}, {},
                  (repr(up("x.json", sep="\\")), "name"), "goes up"),
    "drive": ({"C:/x.json": b"{}"}, {}, ("'C:/x.json'", "name"), "is an absolute path"),
    "symlink": ({}, {"evil.json": "/etc/passwd"}, ("'evil.json'", "type"),
                "is a symbolic link"),
}


@pytest.mark.parametrize("case", sorted(BAD_MEMBERS))
def test_a_zip_with_a_bad_member_is_refused(cli: Any, pkg: Path, tmp_path: Path,
                                            case: str) -> None:
    """Any member at fault refuses the whole zip, even one the manifest does not list."""
    extra, links, (member, fld), words = BAD_MEMBERS[case]
    z = make_zip(tmp_path / "bad.ocf.zip", {**package_members(pkg), **extra}, links)
    only(rejected(cli, z), ("bad.ocf.zip", member, fld), words)


def test_a_zip_member_listed_twice_is_refused(cli: Any, pkg: Path, tmp_path: Path) -> None:
    z = tmp_path / "twice.ocf.zip"
    make_zip(z, package_members(pkg))
    with zipfile.ZipFile(z, "a") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr(TRANSACTIONS, b"{}")
    only(rejected(cli, z), ("twice.ocf.zip", f"'{TRANSACTIONS}'", "name"),
         "is in the zip twice")


def test_a_zip_manifest_path_out_of_the_package_is_refused(cli: Any, pkg: Path,
                                                           tmp_path: Path) -> None:
    set_entry(pkg, up(TRANSACTIONS))
    z = make_zip(tmp_path / "up.ocf.zip", package_members(pkg, "top/"))
    only(rejected(cli, z), TX_PATH, "goes up with '..'")
    set_entry(pkg, "./missing.json")  # not hostile: reported, and listed as not imported
    z = make_zip(tmp_path / "missing.ocf.zip", package_members(pkg))
    r = cli("import-ocf", str(z), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [(w["file"], w["object_id"], w["field"]) for w in out["warnings"]] == [TX_PATH]
    assert "no such file './missing.json' beside the manifest" in out["warnings"][0]["message"]
    assert [(n["object_id"], n["object_type"]) for n in out["not_imported"]] == [
        (TX_PATH[2], "OCF_TRANSACTIONS_FILE")]


def test_a_zip_bomb_is_refused_by_its_declared_size(cli: Any, pkg: Path,
                                                    tmp_path: Path) -> None:
    """With the real limits: 65 MiB of zeros compress to about 64 KiB; the member
    declares its size, more than the 64 MiB limit for one file, and is never opened."""
    z = make_zip(tmp_path / "bomb.ocf.zip",
                 {**package_members(pkg), "bomb.json": b"0" * (65 * source.MiB)})
    assert z.stat().st_size < source.MiB
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: Any, *a: Any, **kw: Any) -> Any:
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *a, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zipfile.ZipFile, "open", spy)
        probs = rejected(cli, z)
    only(probs, ("bomb.ocf.zip", "'bomb.json'", "size"), "declares 65 MiB uncompressed, "
         "more than the 64 MiB limit for one file")
    assert opened == []


def test_a_zip_over_the_package_limit_is_refused(cli: Any, pkg: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    members = package_members(pkg)
    total = sum(len(d) for d in members.values())
    monkeypatch.setattr(source, "MAX_PACKAGE_BYTES", total - 1)
    z = make_zip(tmp_path / "big.ocf.zip", members)
    only(rejected(cli, z), ("big.ocf.zip", "(zip)", "size"), f"its members declare "
         f"{total:,} bytes uncompressed, more than the {total - 1:,} bytes limit for one "
         "package")


def test_a_zip_member_is_counted_while_decompressing(
        pkg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a member declares, at most the limit + 1 bytes come out of it."""
    z = make_zip(tmp_path / "p.ocf.zip", {**package_members(pkg), "big.json": b"1" * 50_000})
    with open(z, "rb") as f:
        zp = ZipPackage(f, z.name)  # declared sizes checked against 64 MiB
        limit = (pkg / TRANSACTIONS).stat().st_size
        monkeypatch.setattr(source, "MAX_FILE_BYTES", limit)
        try:
            with pytest.raises(Refused, match=f"more than the {limit:,} bytes limit"):
                zp.read("big.json")
            assert zp.read(TRANSACTIONS) == (pkg / TRANSACTIONS).read_bytes()
        finally:
            zp.close()


def test_a_zip_with_too_many_members_is_refused_before_its_directory_is_read(
        cli: Any, pkg: Path, tmp_path: Path) -> None:
    """1,001 members, one more than a package may have: counted from the end record,
    ``zipfile`` never reads the directory."""
    extra = {f"n/{i}.txt": b"" for i in range(source.MAX_ZIP_MEMBERS + 1 - len(FILES))}
    z = make_zip(tmp_path / "many.ocf.zip", {**package_members(pkg), **extra})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(source.zipfile, "ZipFile", None)  # any use would fail
        probs = rejected(cli, z)
    only(probs, ("many.ocf.zip", "(zip)", "(file)"), "has 1,001 members, more than the "
         "1,000 a package may have")


def test_a_damaged_zip_is_refused(cli: Any, pkg: Path, tmp_path: Path) -> None:
    z = make_zip(tmp_path / "cut.ocf.zip", package_members(pkg))
    z.write_bytes(z.read_bytes()[:-30])
    only(rejected(cli, z), ("cut.ocf.zip", "(zip)", "(file)"), "is not a zip file")
    data = bytearray(make_zip(tmp_path / "crc.ocf.zip", package_members(pkg)).read_bytes())
    name = data.rindex(TRANSACTIONS.encode())  # in the central directory
    assert data[name - 46:name - 42] == b"PK\x01\x02"
    data[name - 46 + 16] ^= 0xFF  # the CRC-32 the member is checked against
    (tmp_path / "crc.ocf.zip").write_bytes(bytes(data))
    only(rejected(cli, tmp_path / "crc.ocf.zip"), TX_PATH, "is a damaged zip member")


def test_the_help_states_the_limits() -> None:
    r = CliRunner().invoke(app, ["import-ocf", "--help"])
    assert r.exit_code == 0
    text = " ".join(r.stdout.split())
    assert (f"at most {source.size_text(source.MAX_FILE_BYTES)} each and "
            f"{source.size_text(source.MAX_PACKAGE_BYTES)} in all") in text
    assert f"JSON at most {safejson.MAX_JSON_DEPTH} levels deep" in text
    assert f"at most {source.MAX_ZIP_MEMBERS:,} members" in text
    assert "(.ocf.zip)" in text and "SPEC" not in text
