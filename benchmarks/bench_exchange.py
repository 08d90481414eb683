#!/usr/bin/env python
"""Push a 1C package to a running site the way 1C does, and time each step from 1C's side.

It starts no server: point it at one (gunicorn, runserver) and at a user who may run imports.

    .venv/bin/python benchmarks/bench_exchange.py --url http://127.0.0.1:8000 --username 1c-exchange \\
        --password … (--products 10000 [--seed 1] | --data-dir DIR) [--zip auto|yes|no] [--repeat 3]

The conversation: ``checkauth`` → ``init`` (the site says zip=yes|no and file_limit) → every file
(or, with zip, one archive made beforehand, as 1C makes it) in chunks of file_limit bytes → ``mode=import``
for the first XML file, asked again for as long as the answer is ``progress`` → ``mode=import`` for each
other XML file (1C asks for every file; the site imported the whole package already).

Reported per run: upload (requests, MB, seconds), import (from the first ``mode=import`` call to
``success``), how many ``mode=import`` calls that took and their answer latency (median, max), and
the total. The site's own timings are on the session page. ``--products`` generates a synthetic
UT 11 package into ``benchmarks/out/exchange-<N>-<seed>/`` (kept for reuse): the first run into an
empty catalog creates every row, later runs of the same package find every row unchanged — a new
``--seed`` gives new 1C Ид, i.e. new rows.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))


@dataclass
class Run:
    upload_requests: int = 0
    upload_bytes: int = 0
    upload_seconds: float = 0.0
    import_seconds: float = 0.0
    import_latencies: list[float] = field(default_factory=list)
    other_import_latencies: list[float] = field(default_factory=list)
    total_seconds: float = 0.0
    outcome: str = ""


class Site:
    def __init__(self, url: str, username: str, password: str):
        self.url = url.rstrip("/") + "/1c/exchange/"
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.cookie = ""

    def call(self, mode: str, *, body: bytes | None = None, **params) -> tuple[list[str], float]:
        request = Request(f"{self.url}?{urlencode({'type': 'catalog', 'mode': mode, **params})}", data=body,
                          method="POST" if body is not None else "GET")
        request.add_header("Authorization", self.auth)
        if body is not None:
            request.add_header("Content-Type", "application/octet-stream")
        if self.cookie:
            request.add_header("Cookie", self.cookie)
        started = time.monotonic()
        with urlopen(request, timeout=300) as response:
            charset = response.headers.get_content_charset() or "utf-8"
            lines = response.read().decode(charset).split("\n")
        return lines, time.monotonic() - started


def package_for(args) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    from apps.products.onec.synthetic import write_package

    out = ROOT / "benchmarks" / "out" / f"exchange-{args.products}-{args.seed}"
    if not (out / "done").exists():
        out.mkdir(parents=True, exist_ok=True)
        write_package(out / "package", products=args.products, seed=args.seed)
        (out / "done").write_text("")
    return out / "package"


def zipped(package: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in package.rglob("*") if p.is_file()):
            zf.write(path, path.relative_to(package).as_posix())
    return buffer.getvalue()


def exchange(site: Site, package: Path, zip_mode: str, archive: bytes | None) -> Run:
    run = Run()
    started = time.monotonic()
    lines, _ = site.call("checkauth")
    if lines[0] != "success":
        raise SystemExit(f"checkauth: {lines}")
    site.cookie = f"{lines[1]}={lines[2]}"
    answer = dict(line.split("=", 1) for line in site.call("init")[0])
    limit = int(answer["file_limit"])
    use_zip = answer["zip"] == "yes" if zip_mode == "auto" else zip_mode == "yes"
    files = sorted(p for p in package.rglob("*") if p.is_file())
    if use_zip and archive is None:
        raise SystemExit("the site asks for a zip: run with --zip auto|yes from the start")
    uploads = [("import.zip", archive)] if use_zip else [
        (p.relative_to(package).as_posix(), p.read_bytes()) for p in files]

    upload_started = time.monotonic()
    for name, data in uploads:
        for offset in range(0, max(len(data), 1), limit):
            lines, _ = site.call("file", body=data[offset:offset + limit], filename=name)
            if lines[0] != "success":
                raise SystemExit(f"file {name}: {lines}")
            run.upload_requests += 1
            run.upload_bytes += len(data[offset:offset + limit])
    run.upload_seconds = time.monotonic() - upload_started

    xml = [p.relative_to(package).as_posix() for p in files if p.suffix == ".xml"]
    import_started = time.monotonic()
    while True:
        lines, seconds = site.call("import", filename=xml[0])
        run.import_latencies.append(seconds)
        if lines[0] != "progress":
            break
    run.import_seconds = time.monotonic() - import_started
    run.outcome = " / ".join(lines)
    for name in xml[1:]:
        _lines, seconds = site.call("import", filename=name)
        run.other_import_latencies.append(seconds)
    run.total_seconds = time.monotonic() - started
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--products", type=int)
    source.add_argument("--data-dir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--zip", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    package = package_for(args)
    size = sum(p.stat().st_size for p in package.rglob("*") if p.is_file())
    print(f"package {package} ({size / 2**20:.1f} MiB), site {args.url}, zip={args.zip}")
    print("run | upload: requests, MiB, s | import: s, calls, answer latency median / max s | "
          "other import calls max s | total s | outcome")
    archive = zipped(package) if args.zip != "no" else None  # 1C packs it before the exchange: not timed
    if archive is not None:
        print(f"zip: {len(archive) / 2**20:.1f} MiB")
    runs = []
    for n in range(1, args.repeat + 1):
        run = exchange(Site(args.url, args.username, args.password), package, args.zip, archive)
        runs.append(run)
        print(f"{n} | {run.upload_requests}, {run.upload_bytes / 2**20:.1f}, {run.upload_seconds:.2f} | "
              f"{run.import_seconds:.2f}, {len(run.import_latencies)}, "
              f"{statistics.median(run.import_latencies):.2f} / {max(run.import_latencies):.2f} | "
              f"{max(run.other_import_latencies, default=0):.3f} | {run.total_seconds:.2f} | {run.outcome}")
    print(json.dumps([run.__dict__ for run in runs], default=float))


if __name__ == "__main__":
    main()
