"""Bad files: each gets a clear message (row and column where there is one), nothing changes."""

from __future__ import annotations

import os

import pytest

from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer
from stammgast.customers.selectors import CustomerFilter
from stammgast.exchange import services


@pytest.fixture
def base(admin_actor, some_customers):
    """A tenant with customers; every bad import must leave them exactly as they are."""
    some_customers()
    before = list(Customer.objects.order_by("number").values())
    yield admin_actor
    with tenant_scope(admin_actor.tenant):
        assert list(Customer.objects.order_by("number").values()) == before


def refused(actor, path, **kw) -> DomainError:
    with pytest.raises(DomainError) as exc:
        services.import_customers(actor=actor, path=path, **kw)
    return exc.value


def test_empty_file(base, tmp_path):
    path = tmp_path / "leer.csv"
    path.write_bytes(b"")
    err = refused(base, path)
    assert err.code == "empty_file" and "empty" in err.message.lower() or "leer" in err.message


def test_headings_without_rows(base, tmp_path):
    path = tmp_path / "kopf.csv"
    path.write_text("Name;Ort\n")
    assert refused(base, path).code == "no_rows"


def test_pdf_renamed_to_xlsx(base, tmp_path):
    path = tmp_path / "kunden.xlsx"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    err = refused(base, path)
    assert err.code == "not_a_table" and "PDF" in err.message


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_truncated_xlsx_and_zip(base, tmp_path, fmt):
    path = tmp_path / f"ganz.{fmt}"
    services.export_customers(
        actor=base, f=CustomerFilter(), path=path, zip_threshold=1 if fmt == "zip" else 10
    )
    data = path.read_bytes()
    cut = tmp_path / f"halb.{fmt}"
    cut.write_bytes(data[: len(data) // 2])
    err = refused(base, cut)
    assert err.code == "damaged_file"
    assert "damaged" in err.message or "beschädigt" in err.message


def test_binary_garbage(base, tmp_path):
    path = tmp_path / "muell.csv"
    path.write_bytes(bytes(range(256)) * 40 + os.urandom(1000))
    assert refused(base, path).code == "not_a_table"


def test_binary_garbage_without_zero_bytes(base, tmp_path):
    path = tmp_path / "muell.csv"
    path.write_bytes(bytes(range(1, 256)) * 40)
    assert refused(base, path).code == "not_a_table"


def test_oversized_file_is_refused_before_reading(base, tmp_path, settings):
    settings.EXCHANGE_MAX_UPLOAD_BYTES = 1024
    path = tmp_path / "gross.csv"
    path.write_text("Name\n" + "Meier\n" * 500)
    err = refused(base, path)
    assert err.code == "file_too_large" and "MB" in err.message


def test_one_hundred_thousand_columns(base, tmp_path):
    path = tmp_path / "breit.csv"
    path.write_text(";".join(f"Spalte {i}" for i in range(100_000)) + "\n" + ";" * 99_999 + "\n")
    err = refused(base, path)
    assert err.code == "too_many_columns" and "100000" in err.message.replace(",", "")


def test_missing_required_columns(base, tmp_path):
    path = tmp_path / "ohne.csv"
    path.write_text("Ort;PLZ\nBonn;53111\n")
    err = refused(base, path, match="new")
    assert err.code == "missing_columns" and "Name" in err.message


def test_duplicate_headings_name_both_columns(base, tmp_path):
    path = tmp_path / "doppelt.csv"
    path.write_text("Name;Ort;Name\nA;Bonn;B\n")
    err = refused(base, path)
    assert err.code == "bad_headings"
    assert "C1" in err.fields and "A" in err.fields["C1"][0] and "C" in err.fields["C1"][0]


def test_impossible_date_names_row_and_column(base, tmp_path):
    path = tmp_path / "datum.csv"
    path.write_text("Name;Geburtsdatum\nA;01.01.1980\nB;31.02.1980\n")
    result = services.import_customers(actor=base, path=path)
    assert not result.applied
    [problem] = result.errors
    assert (problem.row, problem.column, problem.value) == (3, "Geburtsdatum", "31.02.1980")


def test_undecodable_text_later_in_the_file(base, tmp_path):
    path = tmp_path / "kaputt.csv"
    # Valid UTF-8 at the start (beyond the sniffed sample), then a lone continuation byte.
    path.write_bytes(b"Name\n" + "Müller\n".encode() * 20_000 + b"M\xfcller\xff\n")
    err = refused(base, path)
    assert err.code == "bad_encoding" and "20002" in err.message.replace(".", "").replace(",", "")
