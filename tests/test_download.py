"""`asd download`: against a local fake of the Zenodo records API (http.server on
127.0.0.1, a random port) serving small generated archives in the DCASE layout, with
switchable faults: a dropped connection, a server that ignores Range, a wrong checksum, a
truncated or corrupt zip, a member that climbs out. Nothing here reaches the network."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf

from asdlib import data
from asdlib.data import download

SR = 16000


def _wav(seed: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.random.default_rng(seed).normal(0, 0.1, SR // 10).astype("float32"), SR,
             format="WAV", subtype="PCM_16")
    return buf.getvalue()


def make_zip(mtype: str, splits: tuple[str, ...], leading: bool = True, extra: dict | None = None) -> bytes:
    """A zip of 2 clips per split (+ ``extra`` members), under ``<mtype>/`` when ``leading``."""
    names = {
        "train": ["section_00_source_train_normal_0000_vel_8.wav", "section_00_target_train_normal_0000_vel_4.wav"],
        "test": ["section_00_source_test_normal_0000_vel_8.wav", "section_00_target_test_anomaly_0000_vel_4.wav"],
        "eval": ["section_00_0000.wav", "section_00_0001.wav"],
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for split in splits:
            folder = "test" if split == "eval" else split
            for i, name in enumerate(names[split]):  # every clip its own audio (a copy in train and test is leakage)
                zf.writestr(f"{mtype + '/' if leading else ''}{folder}/{name}", _wav(10 * splits.index(split) + i))
        for name, content in (extra or {}).items():
            zf.writestr(name, content)
    return buf.getvalue()


class FakeZenodo:
    """Records API + file downloads, with faults switched per file name."""

    def __init__(self):
        self.records: dict[str, dict[str, bytes]] = {}
        self.announced_md5: dict[str, str] = {}  # name -> md5 to announce instead of the real one
        self.drop_after: dict[str, int] = {}  # name -> close after this many bytes, once
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.requests.append((self.path, self.headers.get("Range")))
                m = re.fullmatch(r"/api/records/(\d+)", self.path)
                if m and m.group(1) in fake.records:
                    return self._send(200, json.dumps(fake.metadata(m.group(1))).encode(),
                                      "application/json")
                m = re.fullmatch(r"/api/records/(\d+)/files/([^/]+)/content", self.path)
                if not m or m.group(2) not in fake.records.get(m.group(1), {}):
                    return self._send(404, b"not found")
                name, body = m.group(2), fake.records[m.group(1)][m.group(2)]
                start = 0
                rng = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if rng and not fake.ignore_range:
                    start = int(rng.group(1))
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut = fake.drop_after.pop(name, None)
                self.wfile.write(body[start:] if cut is None else body[start:start + cut])
                self.close_connection = True

            def _send(self, code, body, ctype="text/plain"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def metadata(self, record):
        return {"id": int(record), "files": [
            {"key": name, "size": len(body),
             "checksum": "md5:" + self.announced_md5.get(name, hashlib.md5(body).hexdigest()),
             "links": {"self": f"{self.url}/api/records/{record}/files/{name}/content"}}
            for name, body in self.records[record].items()]}

    def file_requests(self, name=None):
        return [(p, r) for p, r in self.requests if "/files/" in p and (name is None or name in p)]


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(download, "DEFAULT_BASE_URL", "http://127.0.0.1:9")  # never the real Zenodo
    monkeypatch.delenv("ASD_ZENODO_URL", raising=False)
    monkeypatch.setattr(download, "RETRY_WAIT_SECONDS", 0.0)
    server = FakeZenodo()
    server.records = {
        "10902294": {"dev_fan.zip": make_zip("fan", ("train", "test")),
                     "dev_ToyCar.zip": make_zip("ToyCar", ("train", "test"), leading=False),
                     "README.md": b"not an archive"},
        "11259435": {"eval_data_3DPrinter_train_r2.zip": make_zip("3DPrinter", ("train",))},
        "11363076": {"eval_data_3DPrinter_test.zip": make_zip("3DPrinter", ("eval",))},
    }
    yield server
    server.server.shutdown()
    server.server.server_close()


def run(fake, tmp_path, *args, only=("fan", "ToyCar", "3DPrinter")):
    return download.main([*args, "--out", str(tmp_path / "out"), "--base-url", fake.url, "--only", *only])


def test_download_unpack_then_scan_dataset_reads_it(fake, tmp_path, capsys):
    assert run(fake, tmp_path, "dev", "additional", "eval") == 0
    out = tmp_path / "out"
    stdout = capsys.readouterr().out
    assert f"data_root:        {(out / 'dev_data').resolve()}" in stdout
    assert f"additional_roots: [{(out / 'additional').resolve()}]" in stdout
    assert "scan_dataset" in stdout
    dev = data.scan_dataset(out / "dev_data", min_duration=0.05)
    assert sorted(dev.clips.machine_type.unique()) == ["ToyCar", "fan"]  # with and without a leading folder
    assert len(dev.clips) == 8 and not dev.excluded
    add = data.scan_dataset(out / "additional", min_duration=0.05, splits=("train",))
    assert list(add.clips.machine_type.unique()) == ["3DPrinter"] and len(add.clips) == 2
    ev = data.scan_dataset(out / "eval_data", min_duration=0.05, splits=("test",), require_train=False)
    assert len(ev.clips) == 2 and set(ev.clips.label) == {"unknown"}
    marker = json.loads((out / "dev_data" / "fan" / ".complete.json").read_text())
    body = fake.records["10902294"]["dev_fan.zip"]
    assert marker["archive"] == "dev_fan.zip" and marker["md5"] == hashlib.md5(body).hexdigest()
    assert marker["files"] == 4
    assert (out / ".downloads" / "dev_fan.zip").read_bytes() == body
    assert not list(out.glob(".unpack-*")) and not list((out / ".downloads").glob("*.part"))


def test_second_run_downloads_nothing_and_offline_needs_no_server(fake, tmp_path, capsys):
    assert run(fake, tmp_path, "dev", "additional") == 0
    n_files, n_all = len(fake.file_requests()), len(fake.requests)
    assert n_files == 3
    assert run(fake, tmp_path, "dev", "additional") == 0
    assert len(fake.file_requests()) == n_files  # no archive fetched again
    assert len(fake.requests) == n_all + 2  # the two metadata requests only
    assert "dev: nothing to do" in capsys.readouterr().out
    fake.server.shutdown()  # offline: no server at all
    assert download.main(["dev", "additional", "--offline", "--out", str(tmp_path / "out"),
                          "--only", "fan", "ToyCar", "3DPrinter"]) == 0
    assert "data_root:" in capsys.readouterr().out
    # a missing type is reported offline, with the fix
    assert download.main(["dev", "--offline", "--out", str(tmp_path / "out"), "--only", "valve"]) == 1
    assert "valve" in capsys.readouterr().err


def test_incomplete_type_folder_is_replaced(fake, tmp_path):
    stale = tmp_path / "out" / "dev_data" / "fan" / "train"
    stale.mkdir(parents=True)
    (stale / "half_written.wav").write_bytes(b"")
    assert run(fake, tmp_path, "dev", only=("fan",)) == 0
    assert not (stale / "half_written.wav").exists() and len(list(stale.glob("*.wav"))) == 2


@pytest.mark.parametrize("ignore_range", [False, True], ids=["range", "server-ignores-range"])
def test_resume_after_dropped_connection(fake, tmp_path, capsys, ignore_range):
    fake.ignore_range = ignore_range
    body = fake.records["10902294"]["dev_fan.zip"]
    fake.drop_after["dev_fan.zip"] = cut = len(body) // 2
    assert run(fake, tmp_path, "dev", "--retries", "0", only=("fan",)) == 1
    err = capsys.readouterr().err
    assert "dev_fan.zip" in err and "run the same command again" in err and "resume" in err
    part = tmp_path / "out" / ".downloads" / "dev_fan.zip.part"
    assert part.stat().st_size == cut
    assert not (tmp_path / "out" / "dev_data" / "fan").exists()
    assert run(fake, tmp_path, "dev", "--retries", "0", only=("fan",)) == 0
    assert fake.file_requests("dev_fan")[-1][1] == f"bytes={cut}-"  # the second run asked for the rest
    assert (tmp_path / "out" / ".downloads" / "dev_fan.zip").read_bytes() == body
    assert not part.exists() and (tmp_path / "out" / "dev_data" / "fan" / ".complete.json").exists()


def test_dropped_connection_is_retried_within_one_run(fake, tmp_path):
    fake.drop_after["dev_fan.zip"] = 100
    assert run(fake, tmp_path, "dev", "--retries", "2", only=("fan",)) == 0
    assert [r for _, r in fake.file_requests("dev_fan")] == [None, "bytes=100-"]


def test_wrong_checksum_leaves_nothing_that_looks_valid(fake, tmp_path, capsys):
    fake.announced_md5["dev_fan.zip"] = "0" * 32
    assert run(fake, tmp_path, "dev", only=("fan",)) == 1
    err = capsys.readouterr().err
    got = hashlib.md5(fake.records["10902294"]["dev_fan.zip"]).hexdigest()
    assert "dev_fan.zip" in err and "0" * 32 in err and got in err and "run the same command again" in err
    downloads = tmp_path / "out" / ".downloads"
    assert not (downloads / "dev_fan.zip").exists() and not (downloads / "dev_fan.zip.part").exists()
    assert not (tmp_path / "out" / "dev_data" / "fan").exists()


@pytest.mark.parametrize("damage", ["truncated", "bad-deflate-stream", "bad-crc"])
def test_damaged_archive_is_refused_and_nothing_is_unpacked(fake, tmp_path, capsys, damage):
    body = fake.records["10902294"]["dev_fan.zip"]
    if damage == "truncated":
        bad = body[: len(body) * 2 // 3]
    else:  # flip 10 bytes of the first member's compressed data (zlib error, or a CRC mismatch)
        first = zipfile.ZipFile(io.BytesIO(body)).infolist()[0]
        start = first.header_offset + 30 + len(first.filename.encode()) + (5 if damage == "bad-deflate-stream" else 200)
        bad = bytearray(body)
        for i in range(start, start + 10):
            bad[i] ^= 0xFF
        bad = bytes(bad)
    fake.records["10902294"]["dev_fan.zip"] = bad  # the record's md5 is that of the damaged bytes
    assert run(fake, tmp_path, "dev", only=("fan",)) == 1
    err = capsys.readouterr().err
    assert "dev_fan.zip is not a complete zip archive" in err and "run the same command again" in err
    out = tmp_path / "out"
    assert not (out / "dev_data" / "fan").exists()
    assert not any((out / "dev_data").iterdir()) if (out / "dev_data").exists() else True
    assert not (out / ".downloads" / "dev_fan.zip").exists()  # deleted: the next run fetches it anew
    assert not list(out.glob(".unpack-*"))


@pytest.mark.parametrize("member", ["../evil.wav", "fan/train/../../../evil.wav", "/tmp/evil.wav"])
def test_member_outside_the_target_is_refused(fake, tmp_path, capsys, member):
    fake.records["10902294"]["dev_fan.zip"] = make_zip("fan", ("train", "test"), extra={member: b"x"})
    assert run(fake, tmp_path, "dev", only=("fan",)) == 1
    assert "outside the target folder" in capsys.readouterr().err
    assert not (tmp_path / "out" / "dev_data" / "fan").exists()
    assert not list(tmp_path.rglob("evil.wav"))
    assert not list((tmp_path / "out").glob(".unpack-*"))


def test_plan_takes_names_sizes_and_checksums_from_the_record():
    files = [{"key": "dev_data_fan.zip", "size": 3, "checksum": "md5:abc",
              "links": {"self": "http://h/f"}},
             {"key": "dev_valve.zip", "size": 5, "checksum": "md5:def"}]
    fan, valve = download.plan_part("dev", files, "http://h", only=["FAN", "valve"])
    assert (fan.machine_type, fan.name, fan.size, fan.md5, fan.url) == ("fan", "dev_data_fan.zip", 3, "abc", "http://h/f")
    assert valve.url == "http://h/records/10902294/files/dev_valve.zip?download=1"
    with pytest.raises(download.DownloadError, match="no archive for bearing.*dev_data_fan.zip"):
        download.plan_part("dev", files, "http://h", only=["bearing"])


def test_unknown_only_type_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        download.main(["dev", "--only", "pump", "--offline"])
    assert exc.value.code == 2 and "pump" in capsys.readouterr().err


def test_help_documents_the_command(capsys):
    with pytest.raises(SystemExit) as exc:
        download.main(["--help"])
    text = capsys.readouterr().out
    assert exc.value.code == 0
    for word in ("10902294", "11259435", "11363076", "--only", "--offline", "--base-url", "ASD_ZENODO_URL",
                 "Range", ".complete.json", "md5", "run the same command again", "data_root"):
        assert word in text


@pytest.mark.parametrize("tty", [False, True])
def test_progress_reports_bytes_percent_and_rate(monkeypatch, tty):
    class Stream(io.StringIO):
        def isatty(self):
            return tty

    monkeypatch.setattr(download, "PROGRESS_EVERY_SECONDS", 0.0)
    stream = Stream()
    progress = download.Progress("dev_fan.zip", 4_000_000, 1_000_000, stream)
    monkeypatch.setattr(download.time, "monotonic", lambda: progress.t0 + 1.0)
    progress.update(1_000_000)
    progress.finish()
    text = stream.getvalue()
    assert "dev_fan.zip: 2.0/4.0 MB (50.0%) 1.00 MB/s" in text
    assert text.startswith("\r") == tty and text.count("\n") == (1 if tty else 2)
