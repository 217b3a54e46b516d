"""Download and unpack the real DCASE 2024 Task 2 data, from the command line::

    asd download dev|additional|eval [...] [--out DIR] [--only TYPE ...]
                              [--offline] [--base-url URL] [--retries N] [--delete-archives]

Parts (each a Zenodo record of the organisers, one zip per machine type):

  dev         development set, record 10902294: 7 types, train/ + test/
              -> <out>/dev_data/<type>/{train,test}/
  additional  additional training set, record 11259435: 9 types, train/
              -> <out>/additional/<type>/train/
  eval        evaluation set, record 11363076: the same 9 types, unlabelled test/
              -> <out>/eval_data/<type>/test/

What a run does, per archive:

1. reads the record's file list, sizes and md5 checksums from the Zenodo records API
   (``<base-url>/api/records/<id>``; ``--base-url`` or ``ASD_ZENODO_URL``, default
   https://zenodo.org);
2. downloads the zip to ``<out>/.downloads/<name>.part``, resuming a partial file with an
   HTTP Range request (a server that ignores Range is read again from byte 0), with
   progress on stderr; a dropped connection is retried a few times with a growing wait,
   then stops with the .part kept: run the same command again to resume;
3. checks size and md5, then renames the file to ``<out>/.downloads/<name>``; a wrong
   checksum deletes the download and stops naming the file and both checksums;
4. unpacks it into a temporary folder inside <out>, after checking the archive is
   complete (``zipfile.testzip``) and that no member is absolute or climbs out (``..``),
   finds the machine-type folder (with or without a leading folder in the zip), writes
   ``.complete.json`` (archive, md5, file count) into it and moves it into place with one
   rename: the loader (``asdlib.data.layout.scan_dataset``) never sees half an archive.

Running the same command again skips every type whose ``.complete.json`` matches the
record's checksum and whose file count is intact (only the small metadata request is
sent); ``--offline`` sends nothing and checks the markers only. At the end the command
prints the ``data_root`` / ``additional_roots`` values for the book (book/real_data.md)
and the ``scan_dataset`` check of each folder.

Exit codes: 0 done, 1 a download or unpack error (one message saying the fix), 2 bad
arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path, PurePosixPath

from asdlib.paths import REPO_ROOT
from asdlib.runtime import progress_enabled

# --------------------------------------------------------------------------- the records
# Archive names per Zenodo record, from the official baseline's download scripts and URL
# table (github.com/nttcslab/dcase2023_task2_baseline_ae: data_download_2024dev.sh,
# data_download_2024add.sh, data_download_2024eval.sh, moved to tools/data_download_2024.sh
# in 2025, and datasets/download_path_2024.yaml). The same scripts unzip every archive in
# one folder and then read <folder>/<machine_type>/{train,test}/ (loader_common.py extracts
# into the parent of <machine_type>/), so each zip holds a leading <machine_type>/ folder
# with train/ or test/ (and attributes_00.csv) inside.
# Not confirmed: the live record listings themselves (Zenodo could not be reached from
# where this was written). The baseline's README spells the development archives
# "dev_data_<type>.zip" while its scripts and URL table (which download them) say
# "dev_<type>.zip"; the table follows the scripts. Whatever the table says, the file list,
# sizes and checksums are taken from the records API at run time: an archive of the record
# whose name differs (another revision suffix, the README spelling) is matched to its type
# by ARCHIVE_RE, and the unpacking finds the type folder with or without a leading folder.
ARCHIVES: dict[str, dict] = {
    "dev": {
        "record": "10902294", "folder": "dev_data", "splits": ("train", "test"),
        "files": {t: f"dev_{t}.zip" for t in
                  ("bearing", "fan", "gearbox", "slider", "ToyCar", "ToyTrain", "valve")},
    },
    "additional": {
        "record": "11259435", "folder": "additional", "splits": ("train",),
        "files": {t: f"eval_data_{t}_train{'_r2' if t in ('3DPrinter', 'RoboticArm') else ''}.zip" for t in
                  ("3DPrinter", "AirCompressor", "BrushlessMotor", "HairDryer", "HoveringDrone",
                   "RoboticArm", "Scanner", "ToothBrush", "ToyCircuit")},
    },
    "eval": {
        "record": "11363076", "folder": "eval_data", "splits": ("test",),
        "files": {t: f"eval_data_{t}_test.zip" for t in
                  ("3DPrinter", "AirCompressor", "BrushlessMotor", "HairDryer", "HoveringDrone",
                   "RoboticArm", "Scanner", "ToothBrush", "ToyCircuit")},
    },
}
#: dev_<type>.zip, dev_data_<type>.zip, eval_data_<type>_train[_r2].zip, eval_data_<type>_test.zip
ARCHIVE_RE = re.compile(r"^(?:dev_data|dev|eval_data)_(?P<type>[A-Za-z0-9]+)(?:_(?:train|test))?(?:_r\d+)?\.zip$")

DEFAULT_BASE_URL = "https://zenodo.org"
DEFAULT_OUT = REPO_ROOT / "data" / "dcase2024"
MARKER = ".complete.json"
DOWNLOADS = ".downloads"
CHUNK = 1 << 20
TIMEOUT_SECONDS = 60
RETRY_WAIT_SECONDS = 5.0  # doubled after each failed try
PROGRESS_EVERY_SECONDS = 5.0  # a plain line this often when stderr is not a terminal


class DownloadError(RuntimeError):
    """A download or unpack problem; the message names the file and the fix."""


class Dropped(DownloadError):
    """The connection ended early; the .part file is kept for resuming."""


#: what a dropped or refused connection raises (retried, then "run the same command again")
NETWORK_ERRORS = (Dropped, ConnectionError, TimeoutError, urllib.error.URLError, HTTPException, ssl.SSLError)


@dataclass(frozen=True)
class Archive:
    part: str
    machine_type: str
    name: str
    url: str
    size: int | None
    md5: str | None


# --------------------------------------------------------------------------- metadata
def base_url(arg: str | None = None) -> str:
    return (arg or os.environ.get("ASD_ZENODO_URL") or DEFAULT_BASE_URL).rstrip("/")


def _open(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers={"User-Agent": "asdlib.data.download", **(headers or {})})
    return urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)


def _with_retries(what: str, action, retries: int):
    """``action()``, tried again after a dropped connection or a server error (5xx)."""
    for attempt in range(retries + 1):
        try:
            return action()
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt == retries:
                raise DownloadError(f"{what}: the server answered HTTP {exc.code} {exc.reason}; check the "
                                    "address (--base-url) and run the same command again") from exc
            error = exc
        except NETWORK_ERRORS as exc:
            if attempt == retries:
                if isinstance(exc, Dropped):
                    raise
                raise Dropped(f"{what}: {exc}; run the same command again when the connection is back") from exc
            error = exc
        wait = RETRY_WAIT_SECONDS * 2 ** attempt
        said = str(error) if str(error).startswith(what) else f"{what}: {error}"
        print(f"{said}; trying again in {wait:.0f} s ({attempt + 1}/{retries})", file=sys.stderr)
        time.sleep(wait)


def record_files(record: str, base: str, retries: int = 3) -> list[dict]:
    """The record's files as ``[{key, size, checksum, links: {self}}]`` from the records API."""
    url = f"{base}/api/records/{record}"

    def get():
        with _open(url, {"Accept": "application/json"}) as resp:
            return json.loads(resp.read().decode("utf-8"))

    try:
        meta = _with_retries(f"record {record} ({url})", get, retries)
    except ValueError as exc:
        raise DownloadError(f"record {record}: {url} did not answer with the records API's JSON ({exc}); "
                            "check --base-url") from exc
    files = meta.get("files", [])
    if isinstance(files, dict):  # the newer serialisation: {"entries": {...} or [...]}
        files = files.get("entries", [])
        files = list(files.values()) if isinstance(files, dict) else files
    if not files:
        raise DownloadError(f"record {record} ({url}) lists no files; check --base-url, or download "
                            "the archives by hand (book/real_data.md)")
    return files


def select_types(part: str, only: list[str] | None) -> list[str]:
    """The part's machine types (the table's), or those of them named by ``--only`` (any
    letter case; a name of another requested part is simply not among them)."""
    types = list(ARCHIVES[part]["files"])
    if not only:
        return types
    wanted = {t.lower() for t in only}
    return [t for t in types if t.lower() in wanted]


def check_only(parts: list[str], only: list[str] | None) -> None:
    """Every ``--only`` type belongs to one of the requested parts, else an error listing them."""
    known = {t.lower() for p in parts for t in ARCHIVES[p]["files"]}
    unknown = [t for t in only or () if t.lower() not in known]
    if unknown:
        raise DownloadError(f"--only {' '.join(unknown)}: not a machine type of {', '.join(parts)}; the types: "
                            + "; ".join(f"{p}: {' '.join(ARCHIVES[p]['files'])}" for p in parts))


def plan_part(part: str, files: list[dict], base: str, only: list[str] | None = None) -> list[Archive]:
    """One ``Archive`` per machine type of ``part`` (or of ``only``), from the record's files.

    A type's archive is the table's name when the record has it, else the record's zip whose
    name parses to the type (``ARCHIVE_RE``: another revision suffix, another spelling); a
    type with neither is an error naming the record's files. Size, md5 and URL always come
    from the record.
    """
    spec = ARCHIVES[part]
    by_name = {f.get("key") or f.get("filename"): f for f in files}
    by_type: dict[str, str] = {}
    for name in sorted(n for n in by_name if n):
        m = ARCHIVE_RE.match(name)
        if m:
            by_type.setdefault(m.group("type").lower(), name)
    plan = []
    for mtype in select_types(part, only):
        name = spec["files"][mtype] if spec["files"][mtype] in by_name else by_type.get(mtype.lower())
        if name is None:
            raise DownloadError(f"record {spec['record']} has no archive for {mtype} (expected "
                                f"{spec['files'][mtype]}); its files: {', '.join(sorted(map(str, by_name)))}")
        if name != spec["files"][mtype]:
            print(f"{part} {mtype}: the record calls the archive {name} (table: {spec['files'][mtype]})",
                  file=sys.stderr)
        entry = by_name[name]
        checksum = entry.get("checksum") or ""
        links = entry.get("links") or {}
        url = links.get("self") or links.get("content") or f"{base}/records/{spec['record']}/files/{name}?download=1"
        plan.append(Archive(part, mtype, name, url, entry.get("size") or entry.get("filesize"),
                            checksum.split(":", 1)[1] if checksum.startswith("md5:") else None))
    return plan


# --------------------------------------------------------------------------- download
class Progress:
    """Bytes, percent and rate on stderr: one updating line on a terminal, else a line every
    ``PROGRESS_EVERY_SECONDS``; with ``ASD_PROGRESS=0`` (asdlib.runtime.progress_enabled)
    only the final line."""

    def __init__(self, name: str, total: int | None, done: int, stream=None):
        self.name, self.total, self.done, self.start_done = name, total, done, done
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = self.last = time.monotonic()
        self.enabled = progress_enabled()

    def line(self) -> str:
        rate = (self.done - self.start_done) / max(time.monotonic() - self.t0, 1e-6)
        pct = f" ({100 * self.done / self.total:.1f}%)" if self.total else ""
        total = f"/{self.total / 1e6:.1f}" if self.total else ""
        return f"{self.name}: {self.done / 1e6:.1f}{total} MB{pct} {rate / 1e6:.2f} MB/s"

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self.last >= (0.2 if self.tty else PROGRESS_EVERY_SECONDS):
            self.last = now
            print(("\r" if self.tty else "") + self.line(), end="" if self.tty else "\n",
                  file=self.stream, flush=True)

    def finish(self) -> None:
        print(("\r" if self.tty else "") + self.line(), file=self.stream, flush=True)


def _fetch_into(archive: Archive, part_path: Path) -> None:
    """Append the rest of the archive to ``part_path`` (resuming with Range); raises
    ``Dropped`` when the server sends fewer bytes than it announced."""
    have = part_path.stat().st_size if part_path.exists() else 0
    if archive.size is not None and have > archive.size:
        have = 0  # longer than the file: not ours, start again
    if archive.size is not None and have == archive.size:
        return
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        resp = _open(archive.url, headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 416:  # range not satisfiable: start again from byte 0
            part_path.unlink(missing_ok=True)
            return _fetch_into(archive, part_path)
        raise
    with resp:
        start = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range") or "")
        if have and start and int(start.group(1)) != have:  # not the bytes asked for: start again
            resp.close()
            part_path.unlink()
            return _fetch_into(archive, part_path)
        if have and resp.status != 206:  # the server ignored Range: read it all again
            have = 0
        length = resp.headers.get("Content-Length")
        expected = int(length) if length is not None else (archive.size - have if archive.size else None)
        progress = Progress(archive.name, archive.size, have)
        got = 0
        with open(part_path, "r+b" if have else "wb") as fh:
            fh.seek(have)
            fh.truncate()
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                fh.write(chunk)
                got += len(chunk)
                progress.update(len(chunk))
            fh.flush()
            os.fsync(fh.fileno())
        progress.finish()
    if expected is not None and got < expected:
        raise Dropped(f"{archive.name}: the connection ended after {have + got} of "
                      f"{have + expected} bytes")


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(archive: Archive, path: Path) -> str | None:
    """None when ``path`` has the record's size and md5, else what is wrong."""
    size = path.stat().st_size
    if archive.size is not None and size != archive.size:
        return f"size {size} bytes, expected {archive.size}"
    if archive.md5 is not None:
        got = md5sum(path)
        if got != archive.md5:
            return f"expected md5 {archive.md5}, got {got}"
    return None


def download(archive: Archive, downloads: Path, retries: int = 3) -> Path:
    """``<downloads>/<name>``, downloaded (or resumed) and verified against the record."""
    final = downloads / archive.name
    if final.exists():
        problem = _verified(archive, final)
        if problem is None:
            return final
        print(f"{final}: {problem}; downloading it again", file=sys.stderr)
        final.unlink()
    downloads.mkdir(parents=True, exist_ok=True)
    part_path = downloads / (archive.name + ".part")
    if part_path.exists():
        print(f"{archive.name}: resuming after {part_path.stat().st_size} bytes", file=sys.stderr)
    try:
        _with_retries(archive.name, lambda: _fetch_into(archive, part_path), retries)
    except Dropped as exc:
        raise Dropped(f"{exc}. The partial download {part_path} is kept: run the same command again "
                      "to resume it") from exc
    problem = _verified(archive, part_path)
    if problem is not None:
        part_path.unlink()
        raise DownloadError(f"{archive.name}: checksum mismatch, {problem} (Zenodo record "
                            f"{ARCHIVES[archive.part]['record']}). The download was deleted: run the same command "
                            "again to download it anew")
    os.replace(part_path, final)
    return final


# --------------------------------------------------------------------------- unpack
def _marker(type_dir: Path) -> dict | None:
    try:
        return json.loads((type_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file() and p.name != MARKER)


def is_complete(type_dir: Path, archive: Archive | None = None) -> bool:
    """The type folder holds a marker (of this archive's name and md5 when given) and as many
    files as the marker says."""
    marker = _marker(type_dir)
    if marker is None:
        return False
    if archive is not None and (marker.get("archive") != archive.name
                                or (archive.md5 and marker.get("md5") != archive.md5)):
        return False
    return _count_files(type_dir) == marker.get("files")


def _type_prefix(names: list[str], archive: str, splits: tuple[str, ...]) -> tuple[str, ...]:
    """The folder inside the zip that holds train/ or test/: () when the zip has no leading
    folder, else e.g. ("fan",). Refuses absolute names, ``..`` and several such folders."""
    prefixes = set()
    for name in names:
        path = PurePosixPath(name.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
            raise DownloadError(f"{archive}: member {name!r} would be written outside the target folder; "
                                "the archive is refused (nothing was unpacked)")
        parts = path.parts
        if parts and parts[0] == "__MACOSX":
            continue
        for i, part in enumerate(parts[:-1]):
            if part in ("train", "test"):
                prefixes.add(parts[:i])
                break
    if len(prefixes) != 1:
        raise DownloadError(f"{archive}: expected one machine-type folder with "
                            f"{' and '.join(s + '/' for s in splits)} inside, found "
                            f"{sorted('/'.join(p) or '(top level)' for p in prefixes) or 'none'}; "
                            "unpack it by hand (book/real_data.md)")
    return prefixes.pop()


def unpack(archive: Archive, zip_path: Path, out: Path) -> Path:
    """Unpack ``zip_path`` into ``<out>/<folder>/<type>/`` in one rename, with its marker.

    A corrupt or truncated zip is deleted and raises, an unsafe or unexpected one raises;
    either way nothing new is left in the part folder (an earlier copy stays as it was).
    """
    spec = ARCHIVES[archive.part]
    target = out / spec["folder"] / archive.machine_type
    staging = Path(tempfile.mkdtemp(prefix=f".unpack-{archive.machine_type}-", dir=out))
    try:
        try:
            with zipfile.ZipFile(zip_path) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise zipfile.BadZipFile(f"member {bad} fails its CRC check")
                members = [i for i in zf.infolist() if not i.filename.startswith("__MACOSX/")]
                prefix = _type_prefix([i.filename for i in members], archive.name, spec["splits"])
                zf.extractall(staging / "x", members)
        except (zipfile.BadZipFile, zlib.error, EOFError, zipfile.LargeZipFile) as exc:
            zip_path.unlink(missing_ok=True)
            raise DownloadError(f"{archive.name} is not a complete zip archive ({exc}); it was deleted: run "
                                "the same command again to download it anew (if this repeats, the record's "
                                f"file itself is damaged: tell the organisers, record {spec['record']})") from exc
        source = staging.joinpath("x", *prefix)
        missing = [s for s in spec["splits"] if not (source / s).is_dir()]
        if missing:
            raise DownloadError(f"{archive.name}: no {', '.join(m + '/' for m in missing)} folder in the archive "
                                f"(a {archive.part} archive holds {', '.join(s + '/' for s in spec['splits'])}); "
                                "unpack it by hand (book/real_data.md)")
        marker = {"archive": archive.name, "md5": archive.md5 or md5sum(zip_path), "files": _count_files(source),
                  "record": spec["record"], "part": archive.part, "machine_type": archive.machine_type}
        (source / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # an older or incomplete copy: out of the loader's way first
            os.rename(target, staging / "old")
        os.rename(source, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# --------------------------------------------------------------------------- the command
def _check_space(out: Path, todo: list[Archive], downloads: Path) -> None:
    need = 0
    for a in todo:
        have = downloads / a.name
        part = downloads / (a.name + ".part")
        done = have.stat().st_size if have.exists() else part.stat().st_size if part.exists() else 0
        need += max((a.size or 0) - done, 0) + (a.size or 0)  # the rest of the zip + what it unpacks to
    free = shutil.disk_usage(out).free
    if need > free:
        raise DownloadError(f"{out}: {need / 1e9:.1f} GB needed (archives + unpacked), {free / 1e9:.1f} GB free; "
                            "free space or choose another --out")


def run_part(part: str, out: Path, base: str, only: list[str] | None, offline: bool, retries: int,
             delete_archives: bool) -> list[str]:
    """Bring one part up to date; returns the types that are still missing (offline only)."""
    spec = ARCHIVES[part]
    part_dir = out / spec["folder"]
    if offline:
        types = select_types(part, only)
        missing = [t for t in types if not is_complete(part_dir / t)]
        for t in types:
            print(f"{part} {t}: {'MISSING or incomplete' if t in missing else 'complete'} ({part_dir / t})")
        return missing
    plan = plan_part(part, record_files(spec["record"], base, retries), base, only)
    todo = [a for a in plan if not is_complete(part_dir / a.machine_type, a)]
    for a in plan:
        if a not in todo:
            print(f"{part} {a.machine_type}: already complete ({part_dir / a.machine_type})")
    if not todo:
        print(f"{part}: nothing to do, every archive is downloaded, verified and unpacked")
        return []
    downloads = out / DOWNLOADS
    _check_space(out, todo, downloads)
    for i, a in enumerate(todo, 1):
        print(f"{part} {a.machine_type} [{i}/{len(todo)}]: {a.name} ({(a.size or 0) / 1e6:.1f} MB)")
        zip_path = download(a, downloads, retries)
        target = unpack(a, zip_path, out)
        print(f"{part} {a.machine_type}: {_marker(target)['files']} files in {target}")
        if delete_archives:
            zip_path.unlink()
    return []


def _summary(out: Path) -> str:
    """Where the parts are and how to use them (only the parts present under ``out``)."""
    py = ".venv/bin/python"
    folder = {part: (out / spec["folder"]).resolve() for part, spec in ARCHIVES.items()}
    present = {part: f for part, f in folder.items() if f.is_dir()}
    lines = ["", "For the book (book/real_data.md):"]
    if "dev" in present:
        lines.append(f"  data_root:        {present['dev']}")
    if "additional" in present:
        lines.append(f"  additional_roots: [{present['additional']}]")
    if "eval" in present:
        lines.append(f"  evaluation set:   {present['eval']} (test/ only, unlabelled: asdlib.data.layout.attach_ground_truth "
                     "adds the labels released after the challenge)")
    for part, f in present.items():
        kwargs = {"dev": "", "additional": ", splits=('train',)",
                  "eval": ", splits=('test',), require_train=False"}[part]
        lines.append(f"Check {part}: {py} -c \"from asdlib import data; "
                     f"print(data.scan_dataset('{f}'{kwargs}).report())\"")
    if "dev" in present:
        extra = f" -p additional_roots '[{present['additional']}]'" if "additional" in present else ""
        lines.append(f"Run:  {py} -m asdlib run-all --profile paper -p data_root {present['dev']}{extra}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asd download", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="+", choices=list(ARCHIVES), metavar="PART",
                        help="dev, additional and/or eval")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder of the data (default {DEFAULT_OUT}, ignored by git)")
    parser.add_argument("--only", nargs="+", metavar="TYPE", default=None,
                        help="only these machine types (e.g. fan ToyCar)")
    parser.add_argument("--offline", action="store_true",
                        help="no network: check that every type is unpacked and complete (markers)")
    parser.add_argument("--base-url", default=None,
                        help=f"Zenodo (or a mirror) serving /api/records/<id> (default ASD_ZENODO_URL or "
                             f"{DEFAULT_BASE_URL})")
    parser.add_argument("--retries", type=int, default=3,
                        help="tries again after a dropped connection, waiting 5, 10, 20 s... (default 3)")
    parser.add_argument("--delete-archives", action="store_true",
                        help="delete each zip once unpacked (a later run checks the unpacked folders)")
    args = parser.parse_args(argv)
    try:
        check_only(args.parts, args.only)
    except DownloadError as exc:
        parser.error(str(exc))
    out = args.out.expanduser()
    base = base_url(args.base_url)
    missing = {}
    try:
        if not args.offline:
            out.mkdir(parents=True, exist_ok=True)
        for part in dict.fromkeys(args.parts):
            missing[part] = run_part(part, out, base, args.only, args.offline, args.retries, args.delete_archives)
    except (DownloadError, OSError) as exc:  # OSError: e.g. a full disk, a folder not writable
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted: partial downloads stay in {out / DOWNLOADS}; run the same command again to "
              "resume", file=sys.stderr)
        return 130
    missing = {p: t for p, t in missing.items() if t}
    if missing:
        print("error: not downloaded or incomplete: "
              + "; ".join(f"{p}: {' '.join(t)}" for p, t in missing.items())
              + ". Run the same command without --offline to fetch them", file=sys.stderr)
        return 1
    print(_summary(out))
    return 0

