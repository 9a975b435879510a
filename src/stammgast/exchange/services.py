"""Export and import of customers: one function per use case, plus the job around them."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import time
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.selectors import SORTS, CustomerFilter
from stammgast.tenants.actor import Actor

from . import writers
from .columns import DATETIME, EXPORT_COLUMNS, EXPORT_FIELDS
from .importing import Cancelled, ImportResult, import_customers  # noqa: F401
from .models import Job

log = logging.getLogger(__name__)

ZIP_THRESHOLD = 100_000
DEFAULT_SEPARATOR = ";"

Progress = Callable[[int, int | None], None]
ShouldCancel = Callable[[], bool]


# --- export ----------------------------------------------------------------------------


@dataclass
class ExportResult:
    format: str  # "xlsx" or "zip"
    rows: int
    filename: str


def export_format(rows: int, zip_threshold: int = ZIP_THRESHOLD) -> str:
    return "zip" if rows >= zip_threshold else "xlsx"


def _check_filter(f: CustomerFilter) -> None:
    if f.sort not in SORTS:
        raise DomainError(
            "invalid_sort",
            _("Unknown sort order."),
            fields={"sort": _("Choose one of: %(s)s.") % {"s": ", ".join(SORTS)}},
            status=400,
        )


def count_customers_for_export(*, actor: Actor, f: CustomerFilter) -> int:
    actor.require("customers.export", _("You may not export customers."))
    _check_filter(f)
    return customer_selectors.filter_customers(actor, f).count()


def export_filename(*, actor: Actor, fmt: str, language: str, at: dt.datetime | None = None) -> str:
    stamp = timezone.localtime(at or timezone.now()).strftime("%Y-%m-%d_%H%M")
    base = "kunden" if language == "de" else "customers"
    return f"{base}_{actor.tenant.slug}_{stamp}.{fmt}"


def _export_rows(actor: Actor, f: CustomerFilter, chunk_size: int) -> Iterator[tuple]:
    """Rows of EXPORT_FIELDS in the filter's order; datetimes as local wall-clock time.

    `.iterator()` streams (a server-side cursor on PostgreSQL), so memory stays flat
    however many customers the filter selects; every column is on the customer row, so
    there is nothing to fetch per customer.
    """
    customers = customer_selectors.filter_customers(actor, f).values_list(*EXPORT_FIELDS)
    if connection.vendor == "postgresql":
        yield from writers.rows_from_postgres(
            EXPORT_COLUMNS, customers, SORTS[f.sort], chunk_size=chunk_size
        )
        return
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    stamp_cols = [i for i, c in enumerate(EXPORT_COLUMNS) if c.kind == DATETIME]
    qs = customers.order_by(*SORTS[f.sort])
    for row in qs.iterator(chunk_size=chunk_size):
        row = list(row)
        row[0] = str(row[0])
        for i in stamp_cols:
            if row[i] is not None:
                row[i] = row[i].astimezone(tz).replace(tzinfo=None, microsecond=0)
        yield row


def filter_settings_rows(f: CustomerFilter, language: str) -> list[tuple[str, str]]:
    header = ("Einstellung", "Wert") if language == "de" else ("Setting", "Value")
    return [header, *f.as_dict().items()]


def export_customers(
    *,
    actor: Actor,
    f: CustomerFilter,
    path: Path,
    language: str = "de",
    zip_threshold: int = ZIP_THRESHOLD,
    separator: str = DEFAULT_SEPARATOR,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    chunk_size: int = 2000,
) -> ExportResult:
    """Write the customers `f` selects to `path`: XLSX below `zip_threshold`, else ZIP/CSV."""
    total = count_customers_for_export(actor=actor, f=f)
    if language not in ("de", "en"):
        language = "de"
    if len(separator) != 1 or separator in "\"'\\\r\n":
        raise DomainError(
            "invalid_separator",
            _("The separator must be one character such as ; or ,."),
            fields={"separator": _("Not valid.")},
            status=400,
        )
    fmt = export_format(total, zip_threshold)

    def tick(done: int) -> None:
        if should_cancel is not None and should_cancel():
            raise Cancelled
        if progress is not None:
            progress(done, total)

    rows = _export_rows(actor, f, chunk_size)
    settings_rows = filter_settings_rows(f, language)
    try:
        if fmt == "xlsx":
            count = writers.write_xlsx(
                path,
                EXPORT_COLUMNS,
                rows,
                language=language,
                settings_rows=settings_rows,
                sheet_title="Kunden" if language == "de" else "Customers",
                tick=tick,
            )
        else:
            zip_options = {
                "language": language,
                "data_name": "kunden.csv" if language == "de" else "customers.csv",
                "settings_name": "filter.csv",
                "settings_rows": settings_rows,
                "separator": separator,
                "tick": tick,
            }
            if connection.vendor == "postgresql":
                # PostgreSQL formats the CSV itself (COPY); the rows are not read here.
                customers = customer_selectors.filter_customers(actor, f)
                count = writers.write_zip_from_postgres(
                    path,
                    EXPORT_COLUMNS,
                    customers.values_list(*EXPORT_FIELDS),
                    SORTS[f.sort],
                    **zip_options,
                )
            else:
                count = writers.write_zip(path, EXPORT_COLUMNS, rows, **zip_options)
    except BaseException:
        # Cancelled, failed or interrupted: no half-written file full of personal data.
        Path(path).unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(count, total)
    return ExportResult(
        format=fmt, rows=count, filename=export_filename(actor=actor, fmt=fmt, language=language)
    )


def filter_from_params(params: Mapping[str, Any]) -> CustomerFilter:
    """The customer list's query parameters -> CustomerFilter; bad values name the field."""
    errors: dict[str, str] = {}

    def text(key: str) -> str | None:
        value = params.get(key)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    def yes_no(key: str) -> bool | None:
        value = text(key)
        if value is None:
            return None
        folded = value.casefold()
        if folded in ("1", "true", "yes", "ja", "on"):
            return True
        if folded in ("0", "false", "no", "nein", "off"):
            return False
        errors[key] = _("Enter yes or no.")
        return None

    def day(key: str) -> dt.date | None:
        value = text(key)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            errors[key] = _("Enter a date as YYYY-MM-DD.")
            return None

    price_level = None
    if (value := text("price_level")) is not None:
        if value.isdigit():
            price_level = int(value)
        else:
            errors["price_level"] = _("Enter a whole number.")
    f = CustomerFilter(
        q=text("q") or "",
        group=text("group"),
        blocked=yes_no("blocked"),
        location=text("location"),
        newsletter=yes_no("newsletter"),
        price_level=price_level,
        tag=text("tag"),
        created_from=day("created_from"),
        created_to=day("created_to"),
        changed_from=day("changed_from"),
        changed_to=day("changed_to"),
        sort=text("sort") or "number",
    )
    if errors:
        raise DomainError(
            "invalid_filter", _("The filter is not valid."), fields=errors, status=400
        )
    _check_filter(f)
    return f


# --- import ----------------------------------------------------------------------------

REPORT_HEADERS = {
    "de": ("Zeile", "Spalte", "Wert", "Meldung", "Art"),
    "en": ("Row", "Column", "Value", "Message", "Kind"),
}


def write_import_report(*, result: ImportResult, path: Path, fmt: str, language: str) -> None:
    """The error report of an import (row, column, value, message) as CSV or XLSX."""
    de = language == "de"
    error, duplicate = ("Fehler", "Dublette") if de else ("error", "duplicate")
    rows = [(p.row, p.column, p.value, p.message, error) for p in result.errors] + [
        (p.row, p.column, p.value, p.message, duplicate) for p in result.duplicates
    ]
    rows.sort(key=lambda r: r[0])
    headers = REPORT_HEADERS["de" if de else "en"]
    if fmt == "xlsx":
        writers.write_table_xlsx(path, headers, rows)
    else:
        writers.write_table_csv(path, headers, rows)


# --- jobs ------------------------------------------------------------------------------
# A job runs in the request when it is small and on the task worker otherwise; either way
# the same `run_job` does the work, and the result file is kept for FILE_LIFETIME.

INLINE_EXPORT_ROWS = 5_000
INLINE_IMPORT_BYTES = 1024 * 1024
FILE_LIFETIME = dt.timedelta(hours=24)
# A running job whose progress has not moved for this long lost its worker.
STALE_AFTER = dt.timedelta(minutes=15)


def jobs_dir() -> Path:
    path = Path(settings.VAR_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_dir(job: Job) -> Path:
    path = jobs_dir() / f"job-{job.pk}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _owner_fields(actor: Actor) -> dict[str, Any]:
    return {
        "created_by": actor.user if getattr(actor.user, "pk", None) else None,
        "created_by_client": actor.api_client,
        "created_by_label": actor.label[:200],
    }


def _enqueue(job: Job) -> None:
    from .tasks import run_exchange_job

    run_exchange_job.enqueue(job_id=job.pk)


def start_export(
    *,
    actor: Actor,
    f: CustomerFilter,
    language: str = "de",
    separator: str = DEFAULT_SEPARATOR,
    zip_threshold: int = ZIP_THRESHOLD,
    inline_rows: int = INLINE_EXPORT_ROWS,
) -> Job:
    """Create an export job; small ones are done before this returns, big ones queued."""
    total = count_customers_for_export(actor=actor, f=f)
    job = Job.objects.create(
        tenant=actor.tenant,
        kind=Job.Kind.EXPORT,
        language=language if language in ("de", "en") else "de",
        params={"filter": f.as_dict(), "separator": separator, "zip_threshold": zip_threshold},
        rows_total=total,
        **_owner_fields(actor),
    )
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
) -> Job:
    """Keep the uploaded file with a new job; check its headings now, import now or queued.

    `upload` is a Django UploadedFile (or any object with `size` and `chunks()`).
    """
    actor.require("customers.import", _("You may not import customers."))
    from .importing import MATCHES, MODES, plan_columns
    from .readers import check_upload_size, open_table

    if mode not in MODES or match not in MATCHES:
        raise DomainError("invalid", _("Unknown import mode or matching."), status=400)
    check_upload_size(upload.size)
    job = Job.objects.create(
        tenant=actor.tenant,
        kind=Job.Kind.IMPORT,
        language=language if language in ("de", "en") else "de",
        params={"mode": mode, "match": match, "dry_run": dry_run, "mapping": mapping or {}},
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
        # Headings are checked at once: a file that needs a mapping or cannot be read is
        # refused here, with the message, rather than as a failed job later.
        with open_table(source) as table:
            plan_columns(table.headers, mapping, match=match)
    except DomainError:
        _delete_files(job)
        job.delete()
        raise
    if upload.size <= inline_bytes:
        run_job(job_id=job.pk, actor=actor)
        job.refresh_from_db()
    else:
        _enqueue(job)
    return job


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


class _JobProgress:
    """Progress of a running job in a small file beside its result.

    An import writes inside one long transaction, so its progress cannot be written to the
    job row (nobody else would see it before the end, and SQLite would block); the file
    also serves as the heartbeat that tells a lost worker from a slow one.
    """

    def __init__(self, job: Job) -> None:
        self.path = job_dir(job) / "progress.json"
        self.cancel_path = job_dir(job) / "cancel"
        self.last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and not (total and done >= total):
            return
        self.last = now
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": done, "total": total}))
        os.replace(tmp, self.path)

    def should_cancel(self) -> bool:
        return self.cancel_path.exists()


def _actor_for(job: Job) -> Actor:
    from stammgast.tenants.services import staff_actor

    if job.created_by_id is not None:
        actor = staff_actor(job.created_by)
        if actor is not None and actor.tenant.pk == job.tenant_id:
            return actor
        raise DomainError("owner_gone", _("The user who started this job has no access now."))
    if job.created_by_client_id is not None:
        return Actor.for_api_client(job.created_by_client)
    return Actor.system(job.tenant)


def run_job(*, job_id: int, actor: Actor | None = None) -> None:
    """Do the work of a job (in the request or on the worker) and record how it ended."""
    from django.utils import translation

    from stammgast.core.tenancy import tenant_scope

    job = Job.all_tenants.select_related("tenant").get(pk=job_id)
    if job.state != Job.State.QUEUED:
        return  # cancelled before it started, or already run by another worker
    with tenant_scope(job.tenant), translation.override(job.language):
        Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, started_at=timezone.now())
        progress = _JobProgress(job)
        state, error, updates = Job.State.DONE, "", {}
        try:
            actor = actor or _actor_for(job)
            if job.kind == Job.Kind.EXPORT:
                updates = _run_export(job, actor, progress)
            else:
                updates = _run_import(job, actor, progress)
        except Cancelled:
            state, error = Job.State.CANCELLED, _("Cancelled; nothing was changed.")
        except DomainError as exc:
            state, error = Job.State.FAILED, str(exc)
        except Exception:
            log.exception("Exchange job %s failed", job.pk)
            state, error = (
                Job.State.FAILED,
                _("Something went wrong on our side; nothing was changed."),
            )
        if state != Job.State.DONE:
            for name in ("result_file", "report_file"):
                updates[name] = ""
            _delete_files(job, keep_dir=True)
        _delete_source(job)
        Job.objects.filter(pk=job.pk).update(
            state=state, error=error, finished_at=timezone.now(), **updates
        )


def _run_export(job: Job, actor: Actor, progress: _JobProgress) -> dict[str, Any]:
    f = filter_from_params(job.params.get("filter", {}))
    threshold = int(job.params.get("zip_threshold") or ZIP_THRESHOLD)
    total = count_customers_for_export(actor=actor, f=f)
    fmt = export_format(total, threshold)
    path = job_dir(job) / f"export.{fmt}"
    result = export_customers(
        actor=actor,
        f=f,
        path=path,
        language=job.language,
        zip_threshold=threshold,
        separator=job.params.get("separator") or DEFAULT_SEPARATOR,
        progress=progress,
        should_cancel=progress.should_cancel,
    )
    return {
        "rows_done": result.rows,
        "rows_total": result.rows,
        "result_file": str(path.relative_to(jobs_dir())),
        "result_name": result.filename,
    }


def _run_import(job: Job, actor: Actor, progress: _JobProgress) -> dict[str, Any]:
    params = job.params
    result = import_customers(
        actor=actor,
        path=jobs_dir() / job.source_file,
        mode=params.get("mode", "all-or-nothing"),
        match=params.get("match", "number"),
        dry_run=bool(params.get("dry_run")),
        mapping=params.get("mapping") or None,
        language=job.language,
        progress=progress,
        should_cancel=progress.should_cancel,
    )
    updates: dict[str, Any] = {
        "rows_done": result.rows,
        "rows_total": result.rows,
        "summary": result.as_dict(),
    }
    if result.errors or result.duplicates:
        folder = job_dir(job)
        for fmt in ("csv", "xlsx"):
            write_import_report(
                result=result, path=folder / f"report.{fmt}", fmt=fmt, language=job.language
            )
        updates["report_file"] = str((folder / "report").relative_to(jobs_dir()))
    return updates


def _delete_source(job: Job) -> None:
    if job.source_file:
        (jobs_dir() / job.source_file).unlink(missing_ok=True)


def _delete_files(job: Job, *, keep_dir: bool = False) -> None:
    folder = jobs_dir() / f"job-{job.pk}"
    if not folder.exists():
        return
    for item in folder.iterdir():
        if keep_dir and item.name == "progress.json":
            continue
        item.unlink(missing_ok=True)
    if not keep_dir:
        folder.rmdir()


def cancel_job(*, actor: Actor, job_id: int) -> Job:
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


def get_job(*, actor: Actor, job_id: int) -> Job:
    """A job of the active tenant the actor may see: their own, or any if not location-bound."""
    from stammgast.core.errors import NotFound

    job = Job.objects.filter(pk=job_id).first()
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


def fail_if_stale(job: Job) -> None:
    """A running job with no sign of life lost its worker: it failed, nothing was kept."""
    if job.state != Job.State.RUNNING:
        return
    heartbeat = jobs_dir() / f"job-{job.pk}" / "progress.json"
    try:
        last = dt.datetime.fromtimestamp(heartbeat.stat().st_mtime, tz=dt.UTC)
    except FileNotFoundError:
        last = job.started_at or job.created_at
    if timezone.now() - last > STALE_AFTER:
        Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
            state=Job.State.FAILED,
            finished_at=timezone.now(),
            error=_("The worker stopped while running this job; nothing was changed."),
        )
        _delete_files(job, keep_dir=True)
        _delete_source(job)
        job.refresh_from_db()


def job_progress(job: Job) -> dict[str, Any]:
    """Rows done, total, percent and seconds left (None when not known)."""
    done, total = job.rows_done, job.rows_total
    if job.state == Job.State.RUNNING:
        try:
            data = json.loads((jobs_dir() / f"job-{job.pk}" / "progress.json").read_text())
            done, total = int(data["done"]), data.get("total") or total
        except (OSError, ValueError, KeyError):
            pass
    percent = int(100 * done / total) if total else (100 if job.finished else 0)
    eta = None
    if job.state == Job.State.RUNNING and job.started_at and total and 0 < done < total:
        elapsed = (timezone.now() - job.started_at).total_seconds()
        eta = int(elapsed / done * (total - done))
    return {"done": done, "total": total, "percent": min(percent, 100), "eta_seconds": eta}


def job_file(*, actor: Actor, job_id: int, which: str = "result") -> tuple[Path, str]:
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
    from stammgast.core.errors import NotFound

    raise NotFound(_("This job has no such file."))


def delete_expired_files(*, now: dt.datetime | None = None) -> int:
    """Delete result files older than FILE_LIFETIME (they hold personal data), every tenant."""
    now = now or timezone.now()
    count = 0
    expired = Job.all_tenants.filter(
        finished_at__lt=now - FILE_LIFETIME, files_deleted=False
    ).select_related("tenant")
    for job in expired.iterator():
        _delete_files(job)
        _delete_source(job)
        Job.all_tenants.filter(pk=job.pk).update(
            files_deleted=True, result_file="", report_file="", source_file=""
        )
        count += 1
    for job in Job.all_tenants.filter(state=Job.State.RUNNING):
        fail_if_stale(job)
    # Uploads waiting in the portal's preview step that nobody went on with.
    pending = jobs_dir() / "pending"
    if pending.is_dir():
        for folder in pending.iterdir():
            modified = dt.datetime.fromtimestamp(folder.stat().st_mtime, tz=dt.UTC)
            if now - modified > FILE_LIFETIME:
                for item in folder.iterdir():
                    item.unlink(missing_ok=True)
                folder.rmdir()
                count += 1
    return count
