"""Background tasks of the exchange app, run by the django-tasks database worker."""

from __future__ import annotations

from django_tasks import task


@task()
def run_exchange_job(job_id: int) -> None:
    from .services import run_job

    run_job(job_id=job_id)


@task()
def delete_expired_exchange_files() -> int:
    from .services import delete_expired_files

    return delete_expired_files()
