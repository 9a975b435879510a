"""Background tasks of the exchange app, run by the django-tasks database worker."""

from __future__ import annotations

from django_tasks import task

from . import jobs


@task()
def run_exchange_job(job_id: int, tenant_id: int | None = None) -> None:
    # The job lives on its tenant's cluster; jobs queued before tenants had homes carry
    # no tenant and are on "default".
    jobs.run_job(job_id=job_id, tenant_id=tenant_id)


@task()
def delete_expired_exchange_files() -> int:
    return jobs.delete_expired_files()
