"""``generate_1c_package`` — write a synthetic 1C:УТ 11 package (see ``onec.synthetic``)."""
from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.products.onec.synthetic import PACKAGE_DIRS, write_package


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


class Command(BaseCommand):
    help = "Generate a synthetic 1C:УТ 11 «Обмен с сайтом» package (CommerceML 3.1) for demos and benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=_positive, required=True, help="number of goods")
        parser.add_argument("--out", type=Path, help="target dir (default: settings.ONEC_DATA_DIR)")
        parser.add_argument("--offers-per-product", type=_positive, default=3)
        parser.add_argument("--price-types", type=_positive, default=3)
        parser.add_argument("--warehouses", type=_positive, default=2)
        parser.add_argument("--segment-size", type=_positive, help="goods per file (default: one file per kind)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--pictures", action="store_true",
                            help="give each product a picture (a small PNG in goods/import_files/)")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--if-empty", action="store_true", help="do nothing if the dir already holds any .xml file")
        mode.add_argument("--force", action="store_true",
                          help="write into a non-empty dir, first deleting the .xml files of a previous package")

    def handle(self, *args, products, out, offers_per_product, price_types, warehouses, segment_size, seed,
               if_empty, force, pictures=False, **options):
        out_dir = Path(out or settings.ONEC_DATA_DIR)
        if out_dir.exists() and not out_dir.is_dir():
            raise CommandError(f"{out_dir} is not a directory")
        has_xml = out_dir.is_dir() and next(out_dir.rglob("*.xml"), None) is not None
        if if_empty and has_xml:
            self.stdout.write(f"{out_dir} already holds a package (.xml files); nothing generated (--if-empty).")
            return
        if out_dir.is_dir() and any(out_dir.iterdir()) and not (if_empty or force):
            raise CommandError(f"{out_dir} is not empty; pass --force to replace its package or --if-empty to keep it")
        if force:
            # Stale segments carry other GUIDs in their names and would be imported alongside the new ones.
            for name in PACKAGE_DIRS:
                for path in (out_dir / name).glob("*.xml"):
                    path.unlink()

        started = time.perf_counter()
        counts = write_package(out_dir, products=products, offers_per_product=offers_per_product,
                               price_types=price_types, warehouses=warehouses, seed=seed, segment_size=segment_size,
                               pictures=pictures)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Generated a 1C package in {out_dir} in {elapsed:.2f} s: {counts['groups']} groups, "
            f"{counts['products']} products, {counts['offers']} offers, {counts['prices']} prices, "
            f"{counts['stocks']} stocks; {counts['files']} files, {counts['bytes'] / 2**20:.1f} MiB."
        )
