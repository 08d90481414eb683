"""The synthetic 1C package generator: well-formed, countable, segmented, deterministic."""
from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from apps.products.onec.synthetic import NAMESPACE, Catalog, format_price, write_package

NS = {"c": NAMESPACE}
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.xml"))


def _count_file(root: Path, name: str, xpath: str) -> int:
    return int(etree.parse(str(root / name)).xpath(f"count({xpath})", namespaces=NS))


def _count(root: Path, subdir: str, xpath: str) -> int:
    return sum(_count_file(root, name, xpath) for name in _files(root) if name.startswith(f"{subdir}/"))


def _parse_single(root: Path, subdir: str) -> etree._ElementTree:
    (path,) = (root / subdir).glob("*.xml")
    return etree.parse(str(path))


def _digest(root: Path) -> dict[str, str]:
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in _files(root)}


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("package")
    return root, write_package(root, products=20, seed=7)


def test_counts_match_the_elements_written(package):
    root, counts = package
    assert counts == {"groups": 3, "products": 20, "offers": 60, "prices": 180, "stocks": 120,
                      "files": 9, "bytes": sum((root / f).stat().st_size for f in _files(root))}
    assert _count(root, "goods", "//c:Товар") == counts["products"]
    assert _count(root, "offers", "//c:Предложение") == counts["offers"]
    assert _count(root, "prices", "//c:Цена") == counts["prices"]
    assert _count(root, "rests", "//c:Остаток") == counts["stocks"]
    assert _count(root, "groups", "//c:Группа") == counts["groups"]
    assert _count(root, "priceLists", "//c:ТипЦены") == 3
    assert _count(root, "storages", "//c:Склад") == 2


def test_every_file_is_a_commerceml_31_document(package):
    root, _ = package
    for name in _files(root):
        tree = etree.parse(str(root / name))
        assert tree.docinfo.encoding == "UTF-8"
        doc = tree.getroot()
        assert doc.tag == f"{{{NAMESPACE}}}КоммерческаяИнформация", name
        assert doc.get("ВерсияСхемы") == "3.1"
        assert doc.get("ДатаФормирования")


def test_offers_prices_and_rests_refer_to_goods_and_classifier(package):
    root, _ = package

    def parse(subdir):
        return _parse_single(root, subdir)

    goods = set(parse("goods").xpath("//c:Товар/c:Ид/text()", namespaces=NS))
    offer_ids = parse("offers").xpath("//c:Предложение/c:Ид/text()", namespaces=NS)
    assert {i.split("#")[0] for i in offer_ids} == goods
    assert all(re.fullmatch(f"{GUID}#{GUID}", i) for i in offer_ids)
    assert parse("prices").xpath("//c:Предложение/c:Ид/text()", namespaces=NS) == offer_ids
    assert parse("rests").xpath("//c:Предложение/c:Ид/text()", namespaces=NS) == offer_ids
    price_types = set(parse("priceLists").xpath("//c:ТипЦены/c:Ид/text()", namespaces=NS))
    assert set(parse("prices").xpath("//c:ИдТипаЦены/text()", namespaces=NS)) == price_types
    warehouses = set(parse("storages").xpath("//c:Склад/c:Ид/text()", namespaces=NS))
    assert set(parse("rests").xpath("//c:Остаток/c:Склад/c:Ид/text()", namespaces=NS)) == warehouses
    groups = set(parse("groups").xpath("//c:Группа/c:Ид/text()", namespaces=NS))
    assert set(parse("goods").xpath("//c:Товар/c:Группы/c:Ид/text()", namespaces=NS)) <= groups


def test_text_is_escaped_and_round_trips(package):
    root, _ = package
    catalog = Catalog(products=20, seed=7)
    expected = [p.name for p in catalog.products()]
    goods = _parse_single(root, "goods")
    assert goods.xpath("//c:Товар/c:Наименование/text()", namespaces=NS) == expected
    brands = {b.name for b in catalog.brands}
    assert {"Спорт & Отдых", "Kraft<Fit>"} <= brands  # the generator must exercise escaping


def test_segments_follow_product_boundaries(tmp_path):
    counts = write_package(tmp_path, products=20, segment_size=8, seed=7)
    names = _files(tmp_path)
    for kind in ("goods", "offers", "prices", "rests"):
        segments = [n for n in names if n.startswith(f"{kind}/")]
        assert [re.fullmatch(rf"{kind}/{kind}_1_(\d+)_{GUID}\.xml", n).group(1) for n in segments] == ["1", "2", "3"]
    assert counts["files"] == 5 + 4 * 3
    goods_per_segment = [_count_file(tmp_path, n, "//c:Товар") for n in names if n.startswith("goods/")]
    offers_per_segment = [_count_file(tmp_path, n, "//c:Предложение") for n in names if n.startswith("offers/")]
    assert goods_per_segment == [8, 8, 4]
    assert offers_per_segment == [24, 24, 12]
    # Segmenting changes the file layout, never the data.
    assert _count(tmp_path, "prices", "//c:Цена") == 180


def test_same_seed_same_bytes_other_seed_other_data(tmp_path, package):
    root, _ = package
    write_package(tmp_path / "again", products=20, seed=7)
    assert _digest(tmp_path / "again") == _digest(root)
    write_package(tmp_path / "other", products=20, seed=8)
    assert _files(tmp_path / "other") != _files(root)


def test_price_formatting():
    assert [format_price(k) for k in (100, 150, 1999, 123400)] == ["1", "1.5", "19.99", "1234"]


def test_rejects_nonsense_arguments(tmp_path):
    with pytest.raises(ValueError):
        write_package(tmp_path, products=0)
    with pytest.raises(ValueError):
        write_package(tmp_path, products=5, segment_size=0)


def _generate(*args: str) -> str:
    out = io.StringIO()
    call_command("generate_1c_package", *args, stdout=out)
    return out.getvalue()


def test_command_writes_once_and_refuses_to_mix_packages(tmp_path):
    target = tmp_path / "data"
    assert "5 products" in _generate("--products", "5", "--out", str(target))
    before = _files(target)
    assert "nothing generated" in _generate("--products", "9", "--out", str(target), "--if-empty")
    assert _files(target) == before
    with pytest.raises(CommandError, match="not empty"):
        _generate("--products", "9", "--out", str(target))
    # --force replaces the package: no stale segment of the old one survives next to the new files.
    _generate("--products", "9", "--out", str(target), "--force", "--segment-size", "4")
    assert len(_files(target)) == 5 + 4 * 3
    assert _count(target, "goods", "//c:Товар") == 9


def test_pictures_option_writes_a_real_png_per_product(tmp_path):
    counts = write_package(tmp_path, products=3, seed=7, pictures=True)
    pictures = sorted((tmp_path / "goods" / "import_files").rglob("*.png"))
    goods = next((tmp_path / "goods").glob("goods_*.xml")).read_text(encoding="utf-8")
    assert counts["pictures"] == len(pictures) == goods.count("<Картинка>") == 3
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in pictures)
    assert len({p.read_bytes() for p in pictures}) == 3  # one picture per product, none shared
    plain = write_package(tmp_path / "plain", products=3, seed=7)
    assert "pictures" not in plain and "<Картинка>" not in next(
        (tmp_path / "plain" / "goods").glob("goods_*.xml")).read_text(encoding="utf-8")
