"""Packages that must be refused whole: the session ends ``failed`` with a one-line reason naming
the culprit, the command raises ``CommandError``, the catalog is exactly as before, and nothing
outside the data dir is read. The bad packages are made here, in tmp_path, from good fixtures."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from apps.products.models import ImportSession, Product

pytestmark = pytest.mark.django_db

MARKER = "XXE-MARKER-7f3c2a91-do-not-import"
NS2 = 'xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.07"'


def commerceml(doctype: str, name: str) -> bytes:
    """A classic import.xml whose names are ``name`` (an entity reference, when testing entities)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
{doctype}
<КоммерческаяИнформация {NS2}>
<Классификатор><Ид>5a1c0bad-0000-4000-8000-000000000001</Ид><Наименование>{name}</Наименование>
<Группы><Группа><Ид>a0000bad-0000-4000-8000-000000000001</Ид><Наименование>{name}</Наименование></Группа></Группы>
</Классификатор>
<Каталог СодержитТолькоИзменения="false"><Товары><Товар>
<Ид>b0000bad-0000-4000-8000-000000000001</Ид><Наименование>{name}</Наименование><Описание>{name}</Описание>
</Товар></Товары></Каталог>
</КоммерческаяИнформация>
""".encode()


def with_import_xml(content: bytes):
    """classic_ns with its import.xml replaced."""
    def build(fixture_dir, tmp_path):
        d = fixture_dir("classic_ns")
        (d / "import.xml").write_bytes(content)
        return d, "import.xml"
    return build


def with_offers_xml(change):
    def build(fixture_dir, tmp_path):
        d = fixture_dir("classic_ns")
        path = d / "offers.xml"
        path.write_bytes(change(path.read_bytes()))
        return d, "offers.xml"
    return build


def outside_file(tmp_path: Path, name: str = "secret.txt") -> Path:
    """A file outside every data dir, holding the marker."""
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    path = outside / name
    path.write_text(f"{MARKER}\n", encoding="utf-8")
    return path


def xxe_outside(fixture_dir, tmp_path):
    secret = outside_file(tmp_path)
    d = fixture_dir("classic_ns")
    doctype = f'<!DOCTYPE КоммерческаяИнформация [<!ENTITY e SYSTEM "{secret.as_uri()}">]>'
    (d / "import.xml").write_bytes(commerceml(doctype, "&e;"))
    return d, "import.xml"


def xxe_parameter_entity(fixture_dir, tmp_path):
    secret = outside_file(tmp_path)
    d = fixture_dir("classic_ns")
    doctype = f'<!DOCTYPE КоммерческаяИнформация [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]>'
    (d / "import.xml").write_bytes(commerceml(doctype, "Лыжи"))
    return d, "import.xml"


def xxe_relative_path(fixture_dir, tmp_path):
    """SYSTEM "../../outside/secret.txt": relative to the file, i.e. outside the data dir."""
    outside_file(tmp_path)
    d = fixture_dir("classic_ns")  # tmp_path/classic_ns-N/classic_ns/import.xml
    doctype = '<!DOCTYPE КоммерческаяИнформация [<!ENTITY e SYSTEM "../../outside/secret.txt">]>'
    (d / "import.xml").write_bytes(commerceml(doctype, "&e;"))
    assert (d / "../../outside/secret.txt").resolve().exists()
    return d, "import.xml"


BILLION_LAUGHS = "<!DOCTYPE КоммерческаяИнформация [\n" + '<!ENTITY lol0 "lol">\n' + "".join(
    f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">\n' for i in range(1, 10)) + "]>"

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" \
      b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"


def image_path_case(raw: str):
    def build(fixture_dir, tmp_path):
        outside_file(tmp_path, "secret.jpg")
        d = fixture_dir("classic_ns")
        path = d / "import.xml"
        text = path.read_text(encoding="utf-8-sig")
        assert "<Картинка>import_files/ab/ski.jpg</Картинка>" in text
        path.write_text(text.replace("import_files/ab/ski.jpg", raw), encoding="utf-8")
        return d, "import.xml"
    return build


def ut11_image_escape(fixture_dir, tmp_path):
    d = fixture_dir("ut11_full")
    (goods,) = (d / "goods").glob("goods_1_2_*.xml")
    goods.write_text(goods.read_text(encoding="utf-8").replace("import_files/b1/ball_2.jpg", "../../etc/passwd"),
                     encoding="utf-8")
    return d, goods.name


def ut11_truncated_last_file(fixture_dir, tmp_path):
    d = fixture_dir("ut11_full")
    rests = d / "rests" / "rests.xml"
    data = rests.read_bytes()
    rests.write_bytes(data[: len(data) // 2])
    return d, "rests.xml"


def ut11_doctype_in_last_file(fixture_dir, tmp_path):
    d = fixture_dir("ut11_full")
    rests = d / "rests" / "rests.xml"
    text = rests.read_text(encoding="utf-8")
    rests.write_text(text.replace("?>\n", '?>\n<!DOCTYPE КоммерческаяИнформация [<!ENTITY e "x">]>\n', 1),
                     encoding="utf-8")
    return d, "rests.xml"


def symlink_outside(fixture_dir, tmp_path):
    """offers.xml is a symlink to a (valid) CommerceML file outside the data dir."""
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    d = fixture_dir("classic_ns")
    target = outside / "offers.xml"
    text = (d / "offers.xml").read_text(encoding="utf-8-sig").replace("Палки лыжные", MARKER)
    target.write_text(text, encoding="utf-8")
    (d / "offers.xml").unlink()
    (d / "offers.xml").symlink_to(target)
    return d, "offers.xml"


def not_commerceml_beside(fixture_dir, tmp_path):
    """A good package plus an XML file that is something else, in a folder of its own."""
    d = fixture_dir("classic_ns")
    (d / "notes").mkdir()
    (d / "notes" / "foo.xml").write_bytes(b'<?xml version="1.0"?>\n<notes><note>1C</note></notes>\n')
    return d, "notes/foo.xml"


def orders_document(fixture_dir, tmp_path):
    """CommerceML, but an order: its Товары must not be read as goods."""
    d = fixture_dir("classic_ns")
    (d / "orders.xml").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация {NS2}><Документ><Ид>1</Ид><Номер>1</Номер><ХозОперация>Заказ товара</ХозОперация>
<Товары><Товар><Ид>b0000bad-0000-4000-8000-000000000002</Ид><Наименование>{MARKER}</Наименование>
<ЦенаЗаЕдиницу>1</ЦенаЗаЕдиницу><Количество>1</Количество></Товар></Товары></Документ></КоммерческаяИнформация>
""", encoding="utf-8")
    return d, "orders.xml"


def missing_dir(fixture_dir, tmp_path):
    return tmp_path / "no-such-export", "no-such-export"


def empty_dir(fixture_dir, tmp_path):
    d = tmp_path / "empty-export"
    d.mkdir()
    return d, "empty-export"


def only_images_dir(fixture_dir, tmp_path):
    d = tmp_path / "images-only"
    shutil.copytree(fixture_dir("classic_ns") / "import_files", d / "import_files")
    return d, "images-only"


CASES = {
    "malformed": with_offers_xml(lambda b: b.replace("</Предложения>".encode(), b"", 1)),
    "truncated": with_offers_xml(lambda b: b[: len(b) // 2]),
    "empty-file": with_offers_xml(lambda b: b""),
    "not-utf8-as-declared": with_offers_xml(lambda b: b.decode("utf-8-sig").encode("cp1251")),
    "xxe-etc-passwd": with_import_xml(commerceml(
        '<!DOCTYPE КоммерческаяИнформация [<!ENTITY e SYSTEM "file:///etc/passwd">]>', "&e;")),
    "xxe-outside-file": xxe_outside,
    "xxe-parameter-entity": xxe_parameter_entity,
    "xxe-relative-path": xxe_relative_path,
    "billion-laughs": with_import_xml(commerceml(BILLION_LAUGHS, "&lol9;")),
    "internal-entity": with_import_xml(commerceml('<!DOCTYPE КоммерческаяИнформация [<!ENTITY e "Лыжи">]>', "&e;")),
    "plain-doctype": with_import_xml(commerceml("<!DOCTYPE КоммерческаяИнформация>", "Лыжи")),
    "png-bytes": with_import_xml(PNG),
    "image-dotdot": image_path_case("../../etc/passwd"),
    "image-absolute": image_path_case("/etc/passwd"),
    "image-outside-real-file": image_path_case("../../outside/secret.jpg"),
    "image-escape-via-subdir": image_path_case("import_files/../../outside/secret.jpg"),
    "ut11-image-escape": ut11_image_escape,
    "ut11-truncated-last-file": ut11_truncated_last_file,
    "ut11-doctype-in-last-file": ut11_doctype_in_last_file,
    "symlink-outside": symlink_outside,
    "not-commerceml-root": with_import_xml(b'<?xml version="1.0" encoding="UTF-8"?>\n<x/>\n'),
    "not-commerceml-beside": not_commerceml_beside,
    "orders-document": orders_document,
    "missing-dir": missing_dir,
    "empty-dir": empty_dir,
    "no-xml-files": only_images_dir,
}


def db_text() -> str:
    """Every value of every row of this app's tables (catalog and sessions), as one string."""
    chunks = []
    for model in apps.get_app_config("products").get_models():
        for row in model.objects.values():
            chunks.extend(str(value) for value in row.values())
    return "\n".join(chunks)


@pytest.fixture
def populated(fixture_dir, run_import, catalog_snapshot):
    """A catalog that already holds a good import (so "unchanged" is not just "still empty")."""
    session = run_import(fixture_dir("ut11_full"))
    assert session.status == "completed", session.error_message
    return catalog_snapshot()


@pytest.mark.parametrize("case", CASES)
def test_bad_package_is_refused_whole(case, populated, fixture_dir, tmp_path, catalog_snapshot):
    data_dir, culprit = CASES[case](fixture_dir, tmp_path)
    sessions_before = set(ImportSession.objects.values_list("pk", flat=True))
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("import_catalog_from_1c", "--data-dir", str(data_dir), stdout=out, stderr=err)

    reason = str(excinfo.value)
    assert reason.strip() and "\n" not in reason.strip(), reason  # one line
    assert "Traceback" not in reason and "Traceback" not in err.getvalue()
    assert culprit in reason, reason

    (session,) = ImportSession.objects.exclude(pk__in=sessions_before)
    assert session.status == ImportSession.Status.FAILED
    assert session.source == "cli" and session.triggered_by is None
    assert session.finished_at is not None
    assert culprit in session.error_message
    assert "Traceback" not in session.error_message  # a refused package is not a crash
    assert catalog_snapshot() == populated  # nothing written, nothing deactivated

    text = db_text()
    assert MARKER not in text
    assert "root:x:0:0" not in text  # /etc/passwd


@pytest.mark.parametrize("case", ["ut11-truncated-last-file", "ut11-doctype-in-last-file"])
def test_broken_last_file_means_nothing_written(case, fixture_dir, tmp_path, run_import, catalog_snapshot):
    """Goods, offers and prices are fine; only rests (read last) is broken: not one product appears."""
    data_dir, culprit = CASES[case](fixture_dir, tmp_path)
    session = run_import(data_dir)
    assert session.status == ImportSession.Status.FAILED
    assert culprit in session.error_message
    assert Product.objects.count() == 0
    assert all(rows == [] for rows in catalog_snapshot().values())


def test_broken_offers_leave_goods_unwritten_classic(fixture_dir, tmp_path, run_import):
    data_dir, culprit = CASES["truncated"](fixture_dir, tmp_path)
    session = run_import(data_dir)
    assert session.status == ImportSession.Status.FAILED and culprit in session.error_message
    assert Product.objects.count() == 0


def test_failed_session_via_service(fixture_dir, tmp_path, run_import):
    """The service returns (does not raise) a failed session for a bad package."""
    data_dir, culprit = CASES["png-bytes"](fixture_dir, tmp_path)
    session = run_import(data_dir)
    assert session.status == ImportSession.Status.FAILED
    assert culprit in session.error_message
    assert session.finished_at is not None and session.heartbeat_at is not None
    assert Path(session.data_dir).resolve() == data_dir.resolve()
