"""Export and import of customers: one function per use case, and the jobs around them."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import OperationalError
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core.access import note_access
from stammgast.core.errors import DomainError, NotFound
from stammgast.customers.filters import CustomerFilter, filter_in_words
from stammgast.tenants.actor import Actor

from .columns import EXPORT_COLUMNS, OPTIONAL_EXPORT_COLUMNS  # noqa: F401 - for the pages
from .exporting import (  # noqa: F401 - use cases of this app
    DEFAULT_SEPARATOR,
    ZIP_THRESHOLD,
    check_export_options,
    count_customers_for_export,
    export_columns,
    export_customers,
    export_format,
)
from .importing import ImportResult, import_customers  # noqa: F401 - use cases of this app
from .jobs import (  # noqa: F401 - read by the pages and the API
    FILE_LIFETIME,
    delete_expired_files,
    delete_job_files,
    delete_source_file,
    fail_if_stale,
    job_dir,
    job_progress,
    jobs_dir,
    purge_jobs_mentioning,
    run_job,
    write_import_report,
)
from .models import Job
from .progress import Cancelled  # noqa: F401 - raised through these use cases
from .tasks import run_exchange_job

INLINE_EXPORT_ROWS = 5_000
INLINE_IMPORT_BYTES = 1024 * 1024
# The heading row a user may name: a sheet's title rows are a handful, not thousands.
MAX_HEADER_ROW = 1000


def _owner_fields(actor: Actor) -> dict[str, Any]:
    return {
        "created_by": actor.user if getattr(actor.user, "pk", None) else None,
        "created_by_client": actor.api_client,
        "created_by_label": actor.label[:200],
    }


def _enqueue(job: Job) -> None:
    run_exchange_job.enqueue(job_id=job.pk, tenant_id=job.tenant_id)


def start_export(
    *,
    actor: Actor,
    f: CustomerFilter,
    language: str = "de",
    separator: str = DEFAULT_SEPARATOR,
    zip_threshold: int = ZIP_THRESHOLD,
    inline_rows: int = INLINE_EXPORT_ROWS,
    extra_columns: Sequence[str] = (),
) -> Job:
    """Create an export job; small ones are done before this returns, big ones queued.

    Everything the job will need is checked here: a bad option is refused now, naming the
    field, not found later by a failed job."""
    check_export_options(separator=separator, language=language)
    extra = [c.field for c in export_columns(list(extra_columns))[len(EXPORT_COLUMNS) :]]
    total = count_customers_for_export(actor=actor, f=f)
    job = Job.objects.create(
        tenant=actor.tenant,
        kind=Job.Kind.EXPORT,
        language=language if language in ("de", "en") else "de",
        params={
            "filter": f.as_dict(),
            "separator": separator,
            "zip_threshold": zip_threshold,
            "extra_columns": extra,
        },
        rows_total=total,
        **_owner_fields(actor),
    )
    note_access(actor=actor, kind="export", what=filter_in_words(f), count=total)
    if total <= inline_rows:
        run_job(job_id=job.pk, actor=actor)
        job.refresh_from_db()
    else:
        _enqueue(job)
    return job


def start_import(
    *,
    actor: Actor,
    upload,
    name: str,
    mode: str = "all-or-nothing",
    match: str = "number",
    dry_run: bool = False,
    mapping: Mapping[str, str | None] | None = None,
    language: str = "de",
    inline_bytes: int = INLINE_IMPORT_BYTES,
    sheet: str | None = None,
    header_row: int | None = None,
) -> Job:
    """Keep the uploaded file with a new job; check its headings now, import now or queued.

    `upload` is a Django UploadedFile (or any object with `size` and `chunks()`).
    """
    actor.require("customers.import", _("You may not import customers."))
    from .headings import mapping_errors
    from .importing import MATCHES, MODES, check_import_file
    from .readers import check_upload_size

    errors = {}
    if mode not in MODES:
        errors["mode"] = _("Choose one of: %(v)s.") % {"v": ", ".join(MODES)}
    if match not in MATCHES:
        errors["match"] = _("Choose one of: %(v)s.") % {"v": ", ".join(MATCHES)}
    if language not in ("de", "en"):
        errors["language"] = _("Choose one of: %(v)s.") % {"v": "de, en"}
    errors.update(mapping_errors(mapping))
    if sheet is not None and (not isinstance(sheet, str) or len(sheet) > 100):
        errors["sheet"] = _("A sheet's name or number, at most 100 characters.")
    if header_row is not None and not (
        isinstance(header_row, int) and 1 <= header_row <= MAX_HEADER_ROW
    ):
        errors["header_row"] = _("A row number from 1 to %(n)d.") % {"n": MAX_HEADER_ROW}
    if errors:
        raise DomainError(
            "invalid_import", _("The import's options are not valid."), fields=errors, status=422
        )
    check_upload_size(upload.size)
    job = Job.objects.create(
        tenant=actor.tenant,
        kind=Job.Kind.IMPORT,
        language=language if language in ("de", "en") else "de",
        params={
            "mode": mode,
            "match": match,
            "dry_run": dry_run,
            "mapping": mapping or {},
            "sheet": sheet or None,
            "header_row": header_row,
        },
        source_name=Path(name or "upload").name[:255],
        **_owner_fields(actor),
    )
    folder = job_dir(job)
    source = folder / ("source" + Path(name or "").suffix.lower()[:10])
    with source.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    job.source_file = str(source.relative_to(jobs_dir()))
    job.save(update_fields=["source_file"])
    try:
        # The file is read through at once: one that cannot be read, needs a mapping or
        # has no rows is refused here, with the message, rather than as a failed job later.
        check_import_file(
            actor=actor,
            path=source,
            mapping=mapping,
            match=match,
            sheet=sheet or None,
            header_row=header_row,
            language=language if language in ("de", "en") else "de",
        )
    except DomainError:
        delete_job_files(job)
        job.delete()
        raise
    if upload.size <= inline_bytes:
        run_job(job_id=job.pk, actor=actor)
        job.refresh_from_db()
    else:
        _enqueue(job)
    return job


def import_after_dry_run(*, actor: Actor, job_id: uuid.UUID | str) -> Job:
    """Import the file of a finished dry run for real: the same file, mode, matching,
    mapping and language, as a new job (the dry run stays as it was)."""
    actor.require("customers.import", _("You may not import customers."))
    dry = get_job(actor=actor, job_id=job_id)
    if not (
        dry.kind == Job.Kind.IMPORT and dry.params.get("dry_run") and dry.state == Job.State.DONE
    ):
        raise DomainError(
            "not_a_dry_run", _("Only a finished dry run can be imported this way."), status=409
        )
    source = jobs_dir() / dry.source_file if dry.source_file else None
    if dry.files_deleted or source is None or not source.is_file():
        raise DomainError(
            "file_deleted",
            _("The file of this dry run has been deleted; upload it again."),
            status=410,
        )
    with source.open("rb") as handle:
        job = start_import(
            actor=actor,
            upload=File(handle),
            name=dry.source_name,
            mode=dry.params.get("mode", "all-or-nothing"),
            match=dry.params.get("match", "number"),
            mapping=dry.params.get("mapping") or {},
            language=dry.language,
            dry_run=False,
            sheet=dry.params.get("sheet"),
            header_row=dry.params.get("header_row"),
        )
    # The new job holds its own copy; without the dry run's, a second click imports nothing.
    delete_source_file(dry)
    Job.objects.filter(pk=dry.pk).update(source_file="")
    return job


def import_fields() -> list[tuple[str, list[str]]]:
    """The fields a column of an import can fill, each with the headings recognised for it
    (ours in German and English, the field name, then other systems' spellings)."""
    from .columns import IMPORT_COLUMNS, accepted_headings

    return [(fld, accepted_headings(fld)) for fld in IMPORT_COLUMNS]


def read_headings(*, actor: Actor, upload, name: str) -> list[str]:
    """The headings of an uploaded file (for the portal's mapping step)."""
    actor.require("customers.import", _("You may not import customers."))
    import tempfile

    from .readers import check_upload_size, open_table

    check_upload_size(upload.size)
    with tempfile.TemporaryDirectory(dir=jobs_dir()) as tmp:
        path = Path(tmp) / ("upload" + Path(name or "").suffix.lower()[:10])
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        with open_table(path) as table:
            return [str(h) for h in table.headers]


def cancel_job(*, actor: Actor, job_id: uuid.UUID | str) -> Job:
    """Ask a job to stop; a queued job stops at once, a running one at its next batch."""
    job = get_job(actor=actor, job_id=job_id)
    if job.finished:
        return job
    (job_dir(job) / "cancel").touch()
    # A queued job never started: mark it cancelled so the worker skips it.
    Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(
        state=Job.State.CANCELLED,
        finished_at=timezone.now(),
        error=_("Cancelled; nothing was changed."),
    )
    # SQLite may be busy with the import itself; the cancel file is what the worker reads.
    with contextlib.suppress(OperationalError):
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def get_job(*, actor: Actor, job_id: uuid.UUID | str) -> Job:
    """A job of the active tenant the actor may see: their own, or any if not location-bound."""
    try:
        job = Job.objects.filter(uid=uuid.UUID(str(job_id))).first()
    except ValueError:
        job = None
    permission = (
        "customers.export" if job is None or job.kind == Job.Kind.EXPORT else ("customers.import")
    )
    own = job is not None and (
        (actor.user is not None and job.created_by_id == getattr(actor.user, "pk", None))
        or (actor.api_client is not None and job.created_by_client_id == actor.api_client.pk)
        or (actor.user is None and actor.api_client is None)
    )
    if job is None or not actor.can(permission) or (actor.location_bound and not own):
        raise NotFound(_("There is no job %(id)s.") % {"id": job_id})
    fail_if_stale(job)
    return job


def job_file(*, actor: Actor, job_id: uuid.UUID | str, which: str = "result") -> tuple[Path, str]:
    """The path and download name of a job's file, for someone allowed to have it."""
    job = get_job(actor=actor, job_id=job_id)
    if job.finished_at and timezone.now() - job.finished_at > FILE_LIFETIME or job.files_deleted:
        raise DomainError(
            "file_expired",
            _("The file was deleted 24 hours after it was made; start the job again."),
            status=410,
        )
    if which == "result" and job.result_file:
        return jobs_dir() / job.result_file, job.result_name
    if which in ("report.csv", "report.xlsx") and job.report_file:
        fmt = which.split(".")[1]
        stem = Path(job.source_name).stem or "import"
        prefix = "fehler" if job.language == "de" else "errors"
        return jobs_dir() / f"{job.report_file}.{fmt}", f"{prefix}_{stem}.{fmt}"
    raise NotFound(_("This job has no such file."))


def purge_files_mentioning(*, needles: Sequence[str]) -> int:
    """Delete the import and export files of the active tenant that name a person whose
    data is being erased (their e-mail, IBAN, phone numbers, name, street)."""
    return purge_jobs_mentioning([n for n in needles if n and len(n) >= 3])
