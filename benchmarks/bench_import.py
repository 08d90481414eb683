#!/usr/bin/env python
"""Benchmark the 1C catalog import against two floors, on one synthetic package per size.

For each ``--products N`` it reports: package generation, lxml parse-only floor, PostgreSQL COPY
floor, the import (wall time, rows/s, peak RSS), the re-import of the unchanged package, and the
ratios import / (parse floor + COPY floor) and re-import / import. See benchmarks/README.md.

    .venv/bin/python benchmarks/bench_import.py --products 10000,100000 [--repeat 3] [--keep]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"
MANAGE = BACKEND / "manage.py"
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(BACKEND))

from apps.products.onec.synthetic import NAMESPACE, Catalog, write_package  # noqa: E402

PACKAGE_DEFAULTS = {"offers_per_product": 3, "price_types": 3, "warehouses": 2, "seed": 1, "segment_size": None,
                    "pictures": False}
RECORD_TAGS = frozenset(
    f"{{{NAMESPACE}}}{tag}"
    for tag in ("Товар", "Предложение", "Группа", "Свойство", "ТипЦены", "Склад", "ЕдиницаИзмерения")
)
# The floor tables copy the real ones (LIKE … INCLUDING ALL: columns, defaults, identity, every
# index incl. the unique ones) but have no foreign keys. Insert order = FK order.
COPY_TABLES = {
    "products_category": "onec_id, is_active, import_hash, created_at, updated_at, name, parent_id",
    "products_product": "onec_id, is_active, import_hash, created_at, updated_at, name, sku, barcode, "
                        "description, unit, category_id, brand_id, properties",
    "products_offer": "onec_id, is_active, import_hash, created_at, updated_at, product_id, name, sku, barcode, "
                      "characteristics, quantity",
    "products_price": "offer_id, price_type_id, value, currency, updated_at",
    "products_stock": "offer_id, warehouse_id, quantity, updated_at",
}
TABLE_COUNTS = {"products_category": "groups", "products_product": "products", "products_offer": "offers",
                "products_price": "prices", "products_stock": "stocks"}
COLUMNS = ("products", "rows", "XML MiB", "files", "gen s", "gen RSS MiB", "parse floor s", "COPY floor s",
           "import s", "rows/s", "import RSS MiB", "re-import s", "import / floors", "re-import / import")


class CommandFailed(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- child processes, measured ------------------------------------------------------------------

# A small fresh process runs each measured command: a child inherits its parent's peak RSS through
# fork/exec (Linux keeps ru_maxrss across execve), so spawning from this script directly would
# report at least this script's own size. The wrapper is ~10 MB, far below what is measured.
_WRAPPER = (
    "import resource, signal, subprocess, sys, time\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)  # a SIGINT ignored by our starter is not inherited\n"
    "started = time.perf_counter()\n"
    "proc = subprocess.Popen(sys.argv[2:])\n"
    "while True:\n"
    "    try:\n"
    "        code = proc.wait()\n"
    "        break\n"
    "    except KeyboardInterrupt:\n"
    "        pass  # the command got the same SIGINT: let it stop cleanly, don't kill it\n"
    "elapsed = time.perf_counter() - started\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write(f'{elapsed} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}')\n"
    "sys.exit(code)\n"
)


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, log_path: Path | None = None
                 ) -> tuple[float, int, bytes]:
    """Run ``cmd`` to completion; return (wall seconds, peak RSS bytes, its stdout+stderr)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage") as usage:
        # Own session: if this script is interrupted, the wrapper and the command get a SIGINT (the
        # importer's Ctrl-C path releases its lock and fails its session) instead of living on as orphans.
        proc = subprocess.Popen([sys.executable, "-S", "-c", _WRAPPER, usage.name, *cmd], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            output, _ = proc.communicate()
        except BaseException:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            raise
        measured = usage.read().split()
    if log_path:
        log_path.write_bytes(output)
    if proc.returncode or not measured:
        tail = output.decode(errors="replace")[-3000:]
        raise CommandFailed(f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return float(measured[0]), int(measured[1]) * 1024, output  # ru_maxrss is in KiB on Linux


def child_generate(out_dir: Path, params: dict) -> None:
    started = time.perf_counter()
    counts = write_package(out_dir, **params)
    print(json.dumps({"seconds": time.perf_counter() - started, "counts": counts}))


def child_parse(data_dir: Path) -> None:
    """The parse floor: stream every element of every file, read its tag and text, clear records."""
    from lxml import etree

    files = sorted(data_dir.rglob("*.xml"))
    elements = 0
    started = time.perf_counter()
    for path in files:
        for _, el in etree.iterparse(str(path), events=("end",)):
            elements += 1
            tag, _text = el.tag, el.text  # touch: lxml materialises both as Python strings
            if tag in RECORD_TAGS:
                el.clear()
                while el.getprevious() is not None:  # drop the cleared siblings, keep the tree small
                    del el.getparent()[0]
    print(json.dumps({"seconds": time.perf_counter() - started, "elements": elements, "files": len(files)}))


# --- the package and the COPY data, cached per size and parameters -----------------------------

def ensure_package(products: int, params: dict) -> tuple[Path, dict]:
    base = OUT / (f"{products}-pictures" if params.get("pictures") else str(products))
    meta_path = base / "package.json"
    sources = (BACKEND / "apps/products/onec/synthetic.py", Path(__file__))
    gen_params = {"products": products, **params}
    wanted = {**gen_params, "sources": hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == wanted:
            log(f"{products}: using the cached package in {base / 'package'}")
            return base / "package", {**meta, "cached": True}
    shutil.rmtree(base, ignore_errors=True)
    (base / "package").mkdir(parents=True)
    log(f"{products}: generating the package")
    _, rss, output = run_measured([
        sys.executable, __file__, "--child-generate", str(base / "package"), json.dumps(gen_params),
    ])
    result = json.loads(output.splitlines()[-1])
    meta = {"params": wanted, "counts": result["counts"], "gen_seconds": result["seconds"], "gen_rss": rss}
    write_copy_files(base / "copy", gen_params)
    meta_path.write_text(json.dumps(meta, indent=1))  # last: marks the cache complete
    return base / "package", {**meta, "cached": False}


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _hash(value: str) -> str:
    return hashlib.md5(value.encode()).hexdigest()


def write_copy_files(copy_dir: Path, params: dict) -> None:
    """COPY text files holding the package's own rows, with the values the real tables would get."""
    log("writing the COPY floor data")
    copy_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(**{k: v for k, v in params.items() if k not in ("segment_size", "pictures")})
    ts = "2025-01-01 00:00:00+00"
    files = {table: (copy_dir / f"{table}.tsv").open("w", encoding="utf-8", buffering=1 << 20) for table in COPY_TABLES}
    category_ids: dict[str, int] = {}
    groups = [(top, None) for top, _ in catalog.tree] + [(c, top) for top, cs in catalog.tree for c in cs]
    for pk, (group, parent) in enumerate(groups, 1):
        category_ids[group.guid] = pk
        parent_id = str(category_ids[parent.guid]) if parent else "\\N"
        files["products_category"].write(
            f"{group.guid}\tt\t{_hash(group.name)}\t{ts}\t{ts}\t{_text(group.name)}\t{parent_id}\n")
    brand_ids = {b.guid: pk for pk, b in enumerate(catalog.brands, 1)}
    offer_pk = 0
    for product_pk, p in enumerate(catalog.products(), 1):
        properties = json.dumps({catalog.material_property.name: p.material.name, catalog.weight_property.name: p.weight,
                                 catalog.country_property.name: p.country}, ensure_ascii=False)
        files["products_product"].write(
            f"{p.guid}\tt\t{_hash(p.name)}\t{ts}\t{ts}\t{_text(p.name)}\t{p.sku}\t{p.barcode}\t{_text(p.description)}"
            f"\t796\t{category_ids[p.group.guid]}\t{brand_ids[p.brand.guid]}\t{_text(properties)}\n")
        for o in p.offers:
            offer_pk += 1
            characteristics = json.dumps([{"name": "Размер", "value": o.size}, {"name": "Цвет", "value": o.color}],
                                         ensure_ascii=False)
            files["products_offer"].write(
                f"{o.id}\tt\t{_hash(o.name)}\t{ts}\t{ts}\t{product_pk}\t{_text(o.name)}\t{o.sku}\t{o.barcode}"
                f"\t{_text(characteristics)}\t{sum(o.rests)}\n")
            files["products_price"].write("".join(
                f"{offer_pk}\t{type_pk}\t{kopecks // 100}.{kopecks % 100:02d}\tRUB\t{ts}\n"
                for type_pk, kopecks in enumerate(o.prices, 1)))
            files["products_stock"].write("".join(
                f"{offer_pk}\t{warehouse_pk}\t{quantity}\t{ts}\n" for warehouse_pk, quantity in enumerate(o.rests, 1)))
    for f in files.values():
        f.close()


def warm_page_cache(*dirs: Path) -> None:
    # Every measurement then reads from memory, as the generation left it; none pays for the disk.
    for directory in dirs:
        for path in directory.rglob("*"):
            if path.is_file():
                with path.open("rb") as f:
                    while f.read(1 << 22):
                        pass


# --- PostgreSQL -------------------------------------------------------------------------------

class BenchDatabase:
    """``freesport_bench`` (dropped and recreated from a migrated template before every run)."""

    def __init__(self, redis_url: str) -> None:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres://", "postgresql://")):
            url = "postgres://postgres@127.0.0.1:5432/freesport_bench"
        parts = urlsplit(url)
        name = parts.path.lstrip("/")
        self.name = name if "bench" in name else "freesport_bench"  # never drop a real database
        self.template = f"{self.name}_template"
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "freesport.settings.prod",
                    "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-secret",
                    "DATABASE_URL": self.url, "REDIS_URL": redis_url, "PYTHONPATH": str(BACKEND)}

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def prepare_template(self) -> None:
        log(f"migrating the template database {self.template}")
        self._admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)', f'CREATE DATABASE "{self.template}"')
        template_url = urlunsplit(urlsplit(self.url)._replace(path=f"/{self.template}"))
        run_measured([sys.executable, str(MANAGE), "migrate", "--no-input", "-v0"],
                     env={**self.env, "DATABASE_URL": template_url})

    def recreate(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)',
                    f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"')

    def drop_all(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)',
                    f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')

    def copy_floor(self, copy_dir: Path) -> float:
        """COPY the rows into regular (logged) floor tables shaped like the real ones; return seconds."""
        import psycopg

        self.recreate()
        with psycopg.connect(self.url, autocommit=True) as conn:
            for table in COPY_TABLES:
                conn.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
            conn.execute("CHECKPOINT")  # start every run from the same clean WAL state
            started = time.perf_counter()
            for table, columns in COPY_TABLES.items():
                with conn.cursor() as cur, (copy_dir / f"{table}.tsv").open("rb") as f:
                    with cur.copy(f"COPY floor_{table} ({columns}) FROM STDIN") as copy:
                        while block := f.read(1 << 20):
                            copy.write(block)
            return time.perf_counter() - started

    def table_counts(self) -> dict[str, int]:
        import psycopg

        with psycopg.connect(self.url) as conn:
            return {TABLE_COUNTS[t]: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COPY_TABLES}


def importer_help(db: BenchDatabase) -> str | None:
    """The command's --help text, or None when the command does not exist."""
    result = subprocess.run([sys.executable, str(MANAGE), "help", "import_catalog_from_1c"], cwd=ROOT,
                            env=db.env, capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


# --- one size ------------------------------------------------------------------------------------

def bench_size(products: int, *, params: dict, repeat: int, db: BenchDatabase, with_import: bool,
               force_flag: list[str]) -> dict:
    package_dir, meta = ensure_package(products, params)
    counts = meta["counts"]
    rows = sum(counts[k] for k in ("groups", "products", "offers", "prices", "stocks"))
    warm_page_cache(package_dir, package_dir.parent / "copy")
    failed = False
    runs: dict[str, list[float]] = {
        k: [] for k in ("parse", "parse_rss", "copy", "import", "rss", "reimport", "reimport_unforced",
                        "pictures_stored", "pictures_stored_by_reimport")}
    # Pictures go to a MEDIA_ROOT emptied before each first import (so it copies every picture);
    # the re-import finds them all there.
    media = package_dir.parent / "media"
    env = {**db.env, "MEDIA_ROOT": str(media)}
    for r in range(1, repeat + 1):
        log(f"{products}: run {r}/{repeat}: parse floor")
        _, rss, output = run_measured([sys.executable, __file__, "--child-parse", str(package_dir)])
        runs["parse"].append(json.loads(output.splitlines()[-1])["seconds"])
        runs["parse_rss"].append(rss)
        log(f"{products}: run {r}/{repeat}: COPY floor")
        runs["copy"].append(db.copy_floor(package_dir.parent / "copy"))
        if not with_import:
            continue
        db.recreate()
        shutil.rmtree(media, ignore_errors=True)
        import_cmd = [sys.executable, str(MANAGE), "import_catalog_from_1c", "--data-dir", str(package_dir)]
        try:
            log(f"{products}: run {r}/{repeat}: import into an empty database")
            seconds, rss, _ = run_measured(import_cmd, env=env, log_path=package_dir.parent / f"import-{r}.log")
            runs["import"].append(seconds)
            runs["rss"].append(rss)
            found = db.table_counts()
            expected = {k: counts[k] for k in found}
            if found != expected:
                log(f"WARNING: the database holds {found}, the package {expected}")
            stored = _media_files(media)
            runs["pictures_stored"].append(len(stored))
            if len(stored) != counts.get("pictures", 0):
                log(f"WARNING: {len(stored)} pictures in storage, the package has {counts.get('pictures', 0)}")
            log(f"{products}: run {r}/{repeat}: re-import of the unchanged package {' '.join(force_flag)}")
            seconds, _, _ = run_measured(import_cmd + force_flag, env=env,
                                         log_path=package_dir.parent / f"reimport-{r}.log")
            runs["reimport"].append(seconds)
            runs["pictures_stored_by_reimport"].append(len(set(_media_files(media).items()) - set(stored.items())))
            if force_flag:  # also the plain run, which may recognise the package as already imported
                seconds, _, _ = run_measured(import_cmd, env=env,
                                             log_path=package_dir.parent / f"reimport-unforced-{r}.log")
                runs["reimport_unforced"].append(seconds)
        except CommandFailed as exc:
            log(f"IMPORT FAILED; the row shows the floors only (logs in {package_dir.parent}).\n{exc}")
            failed = True
            break

    med = {k: statistics.median(v) for k, v in runs.items() if v}
    result = {
        "products": products, "rows": rows, "xml_bytes": counts["bytes"], "files": counts["files"],
        "gen_seconds": meta["gen_seconds"], "gen_rss": meta["gen_rss"], "gen_cached": meta["cached"],
        "parse_floor": med["parse"], "parse_rss": max(runs["parse_rss"]), "copy_floor": med["copy"],
        "import_failed": failed,
        "runs": runs, "params": meta["params"],
    }
    if with_import and not failed:
        result.update(import_seconds=med["import"], import_rss=max(runs["rss"]), reimport_seconds=med["reimport"],
                      reimport_unforced_seconds=med.get("reimport_unforced"), reimport_flags=force_flag,
                      ratio=med["import"] / (med["parse"] + med["copy"]),
                      reimport_ratio=med["reimport"] / med["import"])
    (package_dir.parent / "result.json").write_text(json.dumps(result, indent=1))
    return result


def _media_files(media: Path) -> dict[str, int]:
    """Stored pictures and their mtimes: a re-import that copied nothing leaves this unchanged."""
    return {str(p): p.stat().st_mtime_ns for p in media.rglob("*") if p.is_file()} if media.exists() else {}


def table_row(r: dict) -> str:
    mb = 2**20
    cells = [
        f"{r['products']:,}", f"{r['rows']:,}", f"{r['xml_bytes'] / mb:.0f}", str(r["files"]),
        f"{r['gen_seconds']:.1f}", f"{r['gen_rss'] / mb:.0f}", f"{r['parse_floor']:.1f}", f"{r['copy_floor']:.1f}",
    ]
    if "import_seconds" in r:
        cells += [f"{r['import_seconds']:.1f}", f"{r['rows'] / r['import_seconds']:,.0f}", f"{r['import_rss'] / mb:.0f}",
                  f"{r['reimport_seconds']:.1f}", f"{r['ratio']:.2f}×", f"{r['reimport_ratio']:.2f}"]
    else:
        cells += ["failed" if r["import_failed"] else "pending"] * 6
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    # Internal modes: this script re-runs itself to measure generation and parsing in fresh processes.
    if sys.argv[1:2] == ["--child-generate"]:
        return child_generate(Path(sys.argv[2]), json.loads(sys.argv[3]))
    if sys.argv[1:2] == ["--child-parse"]:
        return child_parse(Path(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", action="append", required=True,
                        help="package size(s): repeatable or a comma list, e.g. 10000,100000")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the table shows medians")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases afterwards")
    parser.add_argument("--floors-only", action="store_true", help="skip the import (generation and floors only)")
    parser.add_argument("--segment-size", type=int, help="goods per file (default: one file per kind)")
    parser.add_argument("--pictures", action="store_true",
                        help="a picture per product (16 KiB PNG in goods/import_files/), copied into a fresh MEDIA_ROOT")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # unwind: stop children, drop DBs
    sizes = [int(n) for chunk in args.products for n in chunk.split(",") if n.strip()]
    params = {**PACKAGE_DEFAULTS, "segment_size": args.segment_size, "pictures": args.pictures}

    db = BenchDatabase(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    with_import = not args.floors_only
    help_text = importer_help(db) if with_import else None
    # Re-import with --force where the command has it: without it, an importer that recognises a
    # byte-identical package skips it wholesale, and the row-level "skip unchanged" path goes unmeasured.
    force_flag = ["--force"] if help_text and "--force" in help_text else []
    if with_import and help_text is None:
        raise SystemExit("`manage.py import_catalog_from_1c` is not available (has the importer landed in "
                         "backend/apps/products/onec/?). Use --floors-only to measure generation and floors.")
    db.prepare_template()
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS), flush=True)
    failures = 0
    try:
        for n in sizes:
            result = bench_size(n, params=params, repeat=args.repeat, db=db, with_import=with_import,
                                force_flag=force_flag)
            failures += result["import_failed"]
            print(table_row(result), flush=True)
    finally:
        if not args.keep:
            db.drop_all()
    if failures:
        raise SystemExit(f"the import failed for {failures} size(s); see the log above")


if __name__ == "__main__":
    main()
