"""After a dry run, one step imports the same file with the same settings and mapping."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from stammgast.core.errors import DomainError
from stammgast.customers.models import Customer
from stammgast.exchange import services


def test_import_now_after_a_dry_run_uses_the_same_file_and_mapping(empty_actor, scoped):
    with scoped(empty_actor.tenant):
        check_import_now(empty_actor)


def check_import_now(empty_actor):
    upload = SimpleUploadedFile("gaeste.csv", b"Nachname;Ort\nHuber;Wien\nBauer;Graz\n")
    dry = services.start_import(
        actor=empty_actor,
        upload=upload,
        name="gaeste.csv",
        dry_run=True,
        mapping={"Nachname": "last_name", "Ort": "city"},
    )
    dry.refresh_from_db()
    assert dry.summary["dry_run"] is True
    assert Customer.objects.count() == 0

    real = services.import_after_dry_run(actor=empty_actor, job_id=dry.uid)
    real.refresh_from_db()
    assert real.uid != dry.uid and real.params["dry_run"] is False
    assert real.params["mapping"] == {"Nachname": "last_name", "Ort": "city"}
    assert sorted(Customer.objects.values_list("last_name", "city")) == [
        ("Bauer", "Graz"),
        ("Huber", "Wien"),
    ]
    # Only a dry run may be imported this way; the real import changes nothing twice.
    with pytest.raises(DomainError) as refused:
        services.import_after_dry_run(actor=empty_actor, job_id=real.uid)
    assert refused.value.code == "not_a_dry_run"
    assert Customer.objects.count() == 2
    # A second "import now" on the same dry run (a double click) imports nothing.
    with pytest.raises(DomainError) as twice:
        services.import_after_dry_run(actor=empty_actor, job_id=dry.uid)
    assert twice.value.code == "file_deleted"
    assert Customer.objects.count() == 2
