"""A large import: checked in a second process while the database writes, with the same
result as a small one; its progress (rows read, checked, written) on the command line's
terminal and on the job page."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import pty
import signal

import pytest
from django.core.management import call_command

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.models import Customer, CustomerGroup, Tag
from stammgast.exchange import importing, services
from stammgast.exchange.models import Job
from stammgast.exchange.progress import Cancelled, ImportStages

HEADINGS = "Kundennummer;Name;Vorname;E-Mail;Rabatt;Kundengruppen;Tags / Vorlieben\n"


def _file(tmp_path, rows: list[str]):
    path = tmp_path / "kunden.csv"
    path.write_text(HEADINGS + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _mixed_rows() -> list[str]:
    """New customers with and without numbers, an update, a doubled number, a bad row,
    a duplicate address, groups and tags (one tag new)."""
    rows = [f";Gast {i};Kay;gast{i}@example.de;5;Stammgäste;vegan" for i in range(40)]
    rows[3] = "7;Gast 3;Kay;gast3@example.de;5;;"  # number 7 exists: an update
    rows[8] = "500;Gast 8;Kay;gast8@example.de;5;;espresso"
    rows[12] = "500;Gast 12;Kay;gast12@example.de;5;;"  # 500 twice: refused here
    rows[20] = ";Gast 20;Kay;gast20@example.de;2,5;;"  # a fraction of a percent
    rows[25] = ";Gast 25;Kay;gast1@example.de;5;;"  # the address of file row 3
    rows[30] = ";Gast 30;Kay;gast30@example.de;5;Unbekannt;"  # no such group
    return rows


@pytest.fixture
def prepared_tenant(admin_actor):
    CustomerGroup.objects.create(name="Stammgäste")
    Tag.objects.create(name="vegan")
    for i in range(1, 10):
        customer_services.create_customer(
            actor=admin_actor, data={"number": i, "last_name": f"Da {i}"}
        )
    return admin_actor


def _import(actor, path, settings, *, beside: bool, **kwargs):
    settings.EXCHANGE_IMPORT_PLANNING_PROCESS_ROWS = 0 if beside else 10**9
    return services.import_customers(actor=actor, path=path, batch_size=7, **kwargs)


def test_a_second_process_checks_the_rows_with_the_same_result(
    prepared_tenant, tmp_path, settings, monkeypatch
):
    path = _file(tmp_path, _mixed_rows())
    handed_over = []
    receive = importing._receive
    monkeypatch.setattr(importing, "_receive", lambda *a: handed_over.append(1) or receive(*a))
    alone = _import(prepared_tenant, path, settings, beside=False, dry_run=True)
    assert not handed_over
    beside = _import(prepared_tenant, path, settings, beside=True, dry_run=True)
    assert handed_over  # the rows came from the planning process
    assert alone.as_dict() == beside.as_dict()
    assert [vars(p) for p in alone.errors] == [vars(p) for p in beside.errors]
    assert [vars(p) for p in alone.duplicates] == [vars(p) for p in beside.duplicates]
    assert (beside.created, beside.updated, beside.failed_rows) == (36, 1, 3)
    assert beside.duplicates_total == 1  # row 27 names the customer row 3 became


def test_with_a_second_process_valid_rows_are_kept_and_a_bad_file_keeps_nothing(
    prepared_tenant, tmp_path, settings
):
    path = _file(tmp_path, _mixed_rows())
    result = _import(prepared_tenant, path, settings, beside=True)
    assert not result.applied and Customer.objects.count() == 9
    assert not Tag.objects.filter(name="espresso").exists()

    result = _import(prepared_tenant, path, settings, beside=True, mode="valid-rows")
    assert result.applied and Customer.objects.count() == 9 + 36
    assert Customer.objects.get(number=7).last_name == "Gast 3"
    gast = Customer.objects.get(last_name="Gast 0")
    assert [g.name for g in gast.groups.all()] == ["Stammgäste"]
    assert [t.name for t in gast.tags.all()] == ["vegan"]
    assert [t.name for t in Customer.objects.get(number=500).tags.all()] == ["espresso"]
    # Numbers went on from the counter, after the ones in use and the file's own.
    numbers = sorted(Customer.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers))


def test_progress_counts_rows_read_checked_and_written_up_to_the_row_count(
    prepared_tenant, tmp_path, settings
):
    path = _file(tmp_path, _mixed_rows())
    seen: list[tuple[int, int | None, ImportStages]] = []
    _import(
        prepared_tenant,
        path,
        settings,
        beside=True,
        mode="valid-rows",
        progress=lambda done, total, stages=None: seen.append((done, total, stages)),
    )
    assert len(seen) > 3
    for (done, total, stages), (_d, _t, later) in zip(seen, seen[1:], strict=False):
        assert total == 40 and done == stages.written
        assert stages.read >= stages.checked >= stages.written
        assert later.read >= stages.read and later.written >= stages.written
    assert seen[0][2].written == 0
    assert seen[-1] == (40, 40, ImportStages(read=40, checked=40, written=40))


def test_a_cancelled_import_stops_the_second_process_and_keeps_nothing(
    prepared_tenant, tmp_path, settings
):
    path = _file(tmp_path, [f";Gast {i};Kay;;;;" for i in range(400)])
    asked = []

    def should_cancel() -> bool:
        asked.append(1)
        return len(asked) > 2

    # As in the task worker, whose SIGTERM handler waits for the running task to end.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        with pytest.raises(Cancelled):
            _import(prepared_tenant, path, settings, beside=True, should_cancel=should_cancel)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert Customer.objects.count() == 9
    assert not multiprocessing.active_children()


def test_the_job_page_and_the_api_show_rows_read_checked_and_written(
    prepared_tenant, tmp_path, settings, admin_client, tenant, monkeypatch
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from stammgast.exchange import jobs

    written: list[dict] = []
    record = jobs._JobProgress.__call__

    def recording(self, done, total, stages=None):
        record(self, done, total, stages)
        written.append(json.loads(self.path.read_text()))

    monkeypatch.setattr(jobs._JobProgress, "__call__", recording)
    settings.EXCHANGE_IMPORT_PLANNING_PROCESS_ROWS = 0
    content = _file(tmp_path, [f";Gast {i};Kay;;;;" for i in range(30)]).read_bytes()
    job = services.start_import(
        actor=prepared_tenant,
        upload=SimpleUploadedFile("kunden.csv", content),
        name="kunden.csv",
    )
    assert job.state == Job.State.DONE and job.rows_done == 30
    assert written[0]["done"] == 0 and written[-1] == {
        "done": 30,
        "total": 30,
        "read": 30,
        "checked": 30,
    }

    # While a job runs, the page (polled by htmx) and the API say how far each stage is.
    with tenant_scope(tenant):
        Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING)
        (services.job_dir(job) / "progress.json").write_text(
            json.dumps({"done": 1000, "total": 4000, "read": 3000, "checked": 2000})
        )
    page = admin_client.get(
        f"/exchange/jobs/{job.uid}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="job-status"
    ).content.decode()
    assert '<span id="rows-read">3000</span>' in page
    assert '<span id="rows-checked">2000</span>' in page
    assert '<span id="rows-written">1000</span>' in page
    assert 'value="25"' in page
    from stammgast.exchange.api import job_out

    with tenant_scope(tenant):
        out = job_out(Job.objects.get(pk=job.pk))
    assert (out["rows_read"], out["rows_checked"], out["rows_done"]) == (3000, 2000, 1000)


def test_the_command_line_draws_the_progress_on_a_terminal_only(empty_tenant, tmp_path, settings):
    settings.EXCHANGE_IMPORT_PLANNING_PROCESS_ROWS = 0
    path = tmp_path / "k.csv"
    path.write_text("Name\n" + "".join(f"Gast {i}\n" for i in range(2500)), encoding="utf-8")

    piped = io.StringIO()
    call_command("import", empty_tenant.slug, str(path), "--dry-run", "--language", "en",
                 stdout=io.StringIO(), stderr=piped)  # fmt: skip
    assert "Import [" not in piped.getvalue() and "written" not in piped.getvalue()

    terminal, screen = pty.openpty()
    with os.fdopen(screen, "w", encoding="utf-8") as stderr:
        call_command("import", empty_tenant.slug, str(path), "--dry-run", "--language", "en",
                     stdout=io.StringIO(), stderr=stderr)  # fmt: skip
    drawn = b""
    os.set_blocking(terminal, False)
    try:
        while chunk := os.read(terminal, 65536):
            drawn += chunk
    except (BlockingIOError, OSError):
        pass
    os.close(terminal)
    text = drawn.decode()
    assert "Import [" in text and "\r" in text
    assert "read 2,500, checked 2,500, written 2,500 of 2,500 rows" in text
    assert "100%" in text
