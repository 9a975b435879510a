"""Running import and export jobs: in the request when small, on the task worker otherwise.

Either way the same `run_job` does the work; its progress is kept in a small file beside
the job's result, and the result file is kept for FILE_LIFETIME.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import time
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError
from stammgast.customers.filters import parse_filter
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

from . import writers
from .exporting import (
    DEFAULT_SEPARATOR,
    ZIP_THRESHOLD,
    count_customers_for_export,
    export_customers,
    export_format,
)
from .importing import ImportResult, import_customers
from .models import Job
from .progress import Cancelled, ImportStages

log = logging.getLogger(__name__)

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

    def __call__(self, done: int, total: int | None, stages: ImportStages | None = None) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and not (total and done >= total):
            return
        self.last = now
        tmp = self.path.with_suffix(".tmp")
        state: dict[str, Any] = {"done": done, "total": total}
        if stages is not None:
            state.update(read=stages.read, checked=stages.checked)
        tmp.write_text(json.dumps(state))
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


def run_job(*, job_id: int, tenant_id: int | None = None, actor: Actor | None = None) -> None:
    """Do the work of a job (in the request or on the worker) and record how it ended."""
    from django.utils import translation

    from stammgast.core.tenancy import database_scope, tenant_scope

    if actor is not None:
        home = actor.tenant._state.db
    else:
        home = tenant_services.home_database(tenant_id) if tenant_id else None
    with database_scope(home or DEFAULT_DB_ALIAS):
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
            state, error = Job.State.FAILED, _one_line(exc)
        except Exception:
            log.exception("Exchange job %s failed", job.pk)
            state, error = (
                Job.State.FAILED,
                _("Something went wrong on our side; nothing was changed."),
            )
        if state != Job.State.DONE:
            for name in ("result_file", "report_file"):
                updates[name] = ""
            delete_job_files(job, keep_dir=True)
        # A successful dry run keeps its file (until the files' lifetime ends) for "import
        # now", which takes it over; every other job's upload goes at once.
        if not (state == Job.State.DONE and job.params.get("dry_run")):
            delete_source_file(job)
        Job.objects.filter(pk=job.pk).update(
            state=state, error=error, finished_at=timezone.now(), **updates
        )


def _run_export(job: Job, actor: Actor, progress: _JobProgress) -> dict[str, Any]:
    f = parse_filter(job.params.get("filter", {}))
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
        extra_columns=job.params.get("extra_columns") or (),
        progress=progress,
        should_cancel=progress.should_cancel,
    )
    return {
        "rows_done": result.rows,
        "rows_total": result.rows,
        "result_file": str(path.relative_to(jobs_dir())),
        "result_name": result.filename,
    }


def _one_line(exc: DomainError) -> str:
    """A refusal on one line, each thing said once (a field's message that repeats the
    message is not said again)."""
    parts = [exc.message]
    for fld, messages in exc.fields.items():
        parts += [f"{fld}: {m}" for m in messages if m != exc.message]
    return "; ".join(parts)


def _run_import(job: Job, actor: Actor, progress: _JobProgress) -> dict[str, Any]:
    params = job.params
    result = import_customers(
        actor=actor,
        path=jobs_dir() / job.source_file,
        mode=params.get("mode", "all-or-nothing"),
        match=params.get("match", "number"),
        dry_run=bool(params.get("dry_run")),
        mapping=params.get("mapping") or None,
        sheet=params.get("sheet") or None,
        header_row=params.get("header_row"),
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


def delete_source_file(job: Job) -> None:
    if job.source_file:
        (jobs_dir() / job.source_file).unlink(missing_ok=True)


def delete_job_files(job: Job, *, keep_dir: bool = False) -> None:
    folder = jobs_dir() / f"job-{job.pk}"
    if not folder.exists():
        return
    for item in folder.iterdir():
        if keep_dir and item.name == "progress.json":
            continue
        item.unlink(missing_ok=True)
    if not keep_dir:
        folder.rmdir()


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
        delete_job_files(job, keep_dir=True)
        delete_source_file(job)
        job.refresh_from_db()


def job_progress(job: Job) -> dict[str, Any]:
    """Rows done, total, percent and seconds left (None when not known); for an import
    that runs, also the rows read and checked (done are the rows written)."""
    done, total = job.rows_done, job.rows_total
    read = checked = None
    if job.state == Job.State.RUNNING:
        try:
            data = json.loads((jobs_dir() / f"job-{job.pk}" / "progress.json").read_text())
            done, total = int(data["done"]), data.get("total") or total
            if "read" in data:
                read, checked = int(data["read"]), int(data["checked"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    percent = int(100 * done / total) if total else (100 if job.finished else 0)
    eta = None
    if job.state == Job.State.RUNNING and job.started_at and total and 0 < done < total:
        elapsed = (timezone.now() - job.started_at).total_seconds()
        eta = int(elapsed / done * (total - done))
    return {
        "done": done,
        "total": total,
        "percent": min(percent, 100),
        "eta_seconds": eta,
        "read": read,
        "checked": checked,
    }


def delete_expired_files(*, now: dt.datetime | None = None) -> int:
    """Delete result files older than FILE_LIFETIME (they hold personal data), every tenant
    on every cluster."""
    from stammgast.core.tenancy import database_scope

    now = now or timezone.now()
    count = 0
    for alias in tenant_services.cluster_aliases():
        with database_scope(alias):
            count += _delete_expired_jobs(now)
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


def _delete_expired_jobs(now: dt.datetime) -> int:
    count = 0
    expired = Job.all_tenants.filter(
        finished_at__lt=now - FILE_LIFETIME, files_deleted=False
    ).select_related("tenant")
    for job in expired.iterator():
        delete_job_files(job)
        delete_source_file(job)
        Job.all_tenants.filter(pk=job.pk).update(
            files_deleted=True, result_file="", report_file="", source_file=""
        )
        count += 1
    for job in Job.all_tenants.filter(state=Job.State.RUNNING):
        fail_if_stale(job)
    return count


# --- files that name a person whose data is erased -----------------------------------

_CHUNK = 1024 * 1024


def _spellings(needle: str) -> list[bytes]:
    """The ways a value can stand in a file: UTF-8 (with XML escapes, as in XLSX),
    UTF-16 (Excel's "Unicode Text") and Windows-1252; compared in lower case."""
    folded = needle.casefold()
    escaped = folded.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = {folded.encode("utf-8"), escaped.encode("utf-8"), folded.encode("utf-16-le")}
    with contextlib.suppress(UnicodeEncodeError):
        out.add(folded.encode("cp1252"))
    return sorted(out)


def _stream_mentions(stream, spellings: list[bytes]) -> bool:
    longest = max(len(s) for s in spellings)
    tail = b""
    while chunk := stream.read(_CHUNK):
        window = (tail + chunk).lower()
        if any(s in window for s in spellings):
            return True
        tail = window[-longest:]
    return False


def file_mentions(path: Path, needles: list[str]) -> bool:
    """Whether a job's file holds any of `needles` (inside the members of an XLSX or ZIP
    too). Letters outside ASCII compare in lower case only as far as bytes allow."""
    spellings = [s for n in needles if n for s in _spellings(n)]
    if not spellings or not path.is_file():
        return False
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                with archive.open(member) as stream:
                    if _stream_mentions(stream, spellings):
                        return True
        return False
    with path.open("rb") as stream:
        return _stream_mentions(stream, spellings)


def purge_jobs_mentioning(needles: list[str]) -> int:
    """Delete the files of the active tenant's jobs (and of uploads waiting in a preview)
    that hold any of `needles`; the number of jobs and uploads purged."""
    count = 0
    folded = [n.casefold() for n in needles if n]
    for job in Job.objects.all().iterator():
        # An import's summary keeps its first error lines, with the values they name; an
        # export keeps its filter (a search for a name); an upload its file name.
        said = (json.dumps(job.summary, ensure_ascii=False) + job.error).casefold()
        if any(n in said for n in folded):
            counts = {k: v for k, v in job.summary.items() if isinstance(v, int)}
            Job.objects.filter(pk=job.pk).update(summary=counts, error="")
        asked = (json.dumps(job.params, ensure_ascii=False) + job.source_name).casefold()
        if any(n in asked for n in folded):
            params = {**job.params, "filter": {}} if "filter" in job.params else job.params
            Job.objects.filter(pk=job.pk).update(params=params, source_name="")
    for job in Job.objects.filter(files_deleted=False):
        folder = jobs_dir() / f"job-{job.pk}"
        paths = [jobs_dir() / job.source_file] if job.source_file else []
        paths += list(folder.iterdir()) if folder.is_dir() else []
        if any(file_mentions(p, needles) for p in paths):
            delete_job_files(job, keep_dir=job.state == Job.State.RUNNING)
            delete_source_file(job)
            Job.objects.filter(pk=job.pk).update(
                files_deleted=True, result_file="", report_file="", source_file=""
            )
            count += 1
    pending = jobs_dir() / "pending"
    if pending.is_dir():
        for folder in pending.iterdir():
            files = [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
            if any(file_mentions(p, needles) for p in files):
                for item in files:
                    item.unlink(missing_ok=True)
                folder.rmdir()
                count += 1
    return count
