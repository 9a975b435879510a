"""Jobs: inline and on the worker, progress, cancelling, who may download, 24-hour expiry."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer
from stammgast.customers.selectors import CustomerFilter
from stammgast.exchange import services
from stammgast.exchange.models import Job
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import Role


@pytest.fixture
def worker_backend(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def run_worker():
    # The worker commits and closes its connections as in production, so these tests run
    # with real transactions.
    call_command(
        "db_worker",
        "--batch",
        "--no-startup-delay",
        "--interval",
        "0.01",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def test_small_export_is_done_at_once(admin_actor, some_customers):
    some_customers()
    job = services.start_export(actor=admin_actor, f=CustomerFilter())
    assert job.state == Job.State.DONE and job.rows_done == 3
    path, name = services.job_file(actor=admin_actor, job_id=job.uid)
    assert path.exists() and name.endswith(".xlsx")
    assert services.job_progress(job)["percent"] == 100


@pytest.mark.django_db(transaction=True)
def test_big_export_runs_on_the_worker(admin_actor, some_customers, worker_backend):
    some_customers()
    job = services.start_export(
        actor=admin_actor, f=CustomerFilter(), inline_rows=1, zip_threshold=2
    )
    assert job.state == Job.State.QUEUED
    run_worker()
    job.refresh_from_db()
    assert job.state == Job.State.DONE, job.error
    path, name = services.job_file(actor=admin_actor, job_id=job.uid)
    assert name.endswith(".zip") and path.stat().st_size > 0


@pytest.mark.django_db(transaction=True)
def test_big_import_runs_on_the_worker_and_reports(admin_actor, worker_backend):
    upload = SimpleUploadedFile("liste.csv", b"Name;Rabatt\nA;5\nB;x\n")
    job = services.start_import(
        actor=admin_actor, upload=upload, name="liste.csv", mode="valid-rows", inline_bytes=0
    )
    assert job.state == Job.State.QUEUED
    run_worker()
    job.refresh_from_db()
    assert job.state == Job.State.DONE, job.error
    assert job.summary["created"] == 1 and job.summary["errors_total"] == 1
    path, name = services.job_file(actor=admin_actor, job_id=job.uid, which="report.xlsx")
    assert path.exists() and name == "fehler_liste.xlsx"
    # The upload itself is deleted as soon as the import is done.
    assert not (services.jobs_dir() / job.source_file).exists()


@pytest.mark.django_db(transaction=True)
def test_cancelled_job_keeps_nothing(admin_actor, worker_backend):
    upload = SimpleUploadedFile("liste.csv", b"Name\nA\nB\n")
    job = services.start_import(actor=admin_actor, upload=upload, name="liste.csv", inline_bytes=0)
    services.cancel_job(actor=admin_actor, job_id=job.uid)
    run_worker()
    job.refresh_from_db()
    assert job.state == Job.State.CANCELLED
    assert not Customer.objects.exists()


def test_cancel_during_the_run_rolls_back(admin_actor, tmp_path):
    path = tmp_path / "viele.csv"
    path.write_text("Name\n" + "".join(f"K{i}\n" for i in range(50)))
    calls = []

    def cancel_after_first_batch():
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(services.Cancelled):
        services.import_customers(
            actor=admin_actor, path=path, batch_size=10, should_cancel=cancel_after_first_batch
        )
    assert not Customer.objects.exists()


def test_crashed_worker_leaves_a_failed_job(admin_actor):
    job = Job.objects.create(
        tenant=admin_actor.tenant,
        kind=Job.Kind.IMPORT,
        state=Job.State.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=1),
    )
    job = services.get_job(actor=admin_actor, job_id=job.uid)
    assert job.state == Job.State.FAILED and "nothing was changed" in job.error.replace(
        "es wurde nichts geändert", "nothing was changed"
    )


def test_only_allowed_users_of_the_tenant_get_the_file(
    tenant, admin_actor, some_customers, other_tenant, location
):
    some_customers()
    job = services.start_export(actor=admin_actor, f=CustomerFilter())
    cashier = Actor.for_staff(tenant=tenant, user=None, role=Role.CASHIER, location=None)
    with pytest.raises(DomainError) as exc:
        services.job_file(actor=cashier, job_id=job.uid)
    assert exc.value.status == 404
    user = tenant_services.create_staff_user(
        tenant=tenant,
        username="mia",
        password="Ein-langes-Passwort-1",
        role=Role.LOCATION_MANAGER,
        location=location,
    )
    manager = Actor.for_staff(
        tenant=tenant, user=user, role=Role.LOCATION_MANAGER, location=location
    )
    with pytest.raises(DomainError):
        services.job_file(actor=manager, job_id=job.uid)  # not theirs, and location-bound
    with tenant_scope(other_tenant), pytest.raises(DomainError) as exc:
        services.job_file(actor=Actor.system(other_tenant), job_id=job.uid)
    assert exc.value.status == 404


# The sweep goes over every cluster.
@pytest.mark.django_db(databases="__all__")
def test_files_are_deleted_after_24_hours(admin_actor, some_customers):
    some_customers()
    job = services.start_export(actor=admin_actor, f=CustomerFilter())
    path, _name = services.job_file(actor=admin_actor, job_id=job.uid)
    assert services.delete_expired_files() == 0 and path.exists()
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - dt.timedelta(hours=25))
    with pytest.raises(DomainError) as exc:
        services.job_file(actor=admin_actor, job_id=job.uid)
    assert exc.value.status == 410
    out = io.StringIO()
    call_command("exchange_cleanup", stdout=out)
    assert not path.exists()
    assert Job.objects.get(pk=job.pk).files_deleted


def test_bad_upload_is_refused_at_once_and_leaves_no_job(admin_actor):
    upload = SimpleUploadedFile("x.xlsx", b"%PDF-1.4 whatever")
    with pytest.raises(DomainError) as exc:
        services.start_import(actor=admin_actor, upload=upload, name="x.xlsx")
    assert exc.value.code == "not_a_table"
    assert not Job.objects.exists()


def test_job_of_a_user_who_lost_access_fails(tenant, admin_actor):
    user = tenant_services.create_staff_user(
        tenant=tenant, username="eva", password="Ein-langes-Passwort-1", role=Role.TENANT_ADMIN
    )
    job = Job.objects.create(tenant=tenant, kind=Job.Kind.EXPORT, created_by=user)
    user.memberships.all().delete()
    services.run_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED


# The sweep goes over every cluster.
@pytest.mark.django_db(databases="__all__")
def test_abandoned_preview_uploads_are_deleted_after_24_hours(admin_actor):
    folder = services.jobs_dir() / "pending" / "1-abc"
    folder.mkdir(parents=True)
    (folder / "kunden.csv").write_text("Name\nA\n")
    assert services.delete_expired_files() == 0 and folder.exists()
    later = timezone.now() + dt.timedelta(hours=25)
    assert services.delete_expired_files(now=later) == 1
    assert not folder.exists()
