"""Export and import endpoints of /api/v1: start a job, ask how far it is, fetch its file."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any

from django.http import FileResponse, HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from pydantic import ConfigDict, Field, WithJsonSchema

from stammgast.core.errors import DomainError, NotFound
from stammgast.core.http import ERRORS
from stammgast.customers.filters import parse_filter

from . import services
from .models import Job

router = Router(tags=["import and export"])
# A job's file is gone 24 hours after it was made: 410.
JOB_ERRORS = {**ERRORS, 410: ERRORS[404]}


# Filter values pass through untouched to the one filter parser (customers/filters.py),
# which reads true/false, numbers and YYYY-MM-DD dates as the customer list does.
Flag = Annotated[Any, WithJsonSchema({"type": ["boolean", "null"]})]
Day = Annotated[Any, WithJsonSchema({"type": ["string", "null"], "format": "date"})]
Text = Annotated[Any, WithJsonSchema({"type": ["string", "null"]})]
Whole = Annotated[Any, WithJsonSchema({"type": ["integer", "null"]})]


class ExportIn(Schema):
    """The customer list's filter; empty means every customer the client may see."""

    # A misspelt filter must not export every customer.
    model_config = ConfigDict(extra="forbid")

    q: Text = ""
    group: Text = None
    blocked: Flag = None
    location: Text = None
    newsletter: Flag = None
    consent: Text = None
    price_level: Whole = None
    tag: Text = None
    created_from: Day = None
    created_to: Day = None
    changed_from: Day = None
    changed_to: Day = None
    sort: Text = "number"
    language: str = "de"
    separator: str = ";"
    # Optional columns after the 31 standard ones: kind, company_name, vat_id, groups,
    # tags, lock_text.
    extra_columns: Annotated[list[Annotated[str, Field(max_length=30)]], Field(max_length=6)] = []


class JobOut(Schema):
    id: uuid.UUID
    kind: str
    state: str
    rows_done: int
    rows_total: int | None
    # A running import: rows read from the file and checked so far (rows_done: written).
    rows_read: int | None = None
    rows_checked: int | None = None
    percent: int
    eta_seconds: int | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None
    error: str
    summary: dict
    download_url: str | None
    report_csv_url: str | None
    report_xlsx_url: str | None


def job_out(job: Job) -> dict:
    progress = services.job_progress(job)
    base = f"/api/v1/{job.kind}s/{job.uid}"
    has_file = job.state == Job.State.DONE and not job.files_deleted
    return {
        "id": job.uid,
        "kind": job.kind,
        "state": job.state,
        "rows_done": progress["done"],
        "rows_total": progress["total"],
        "rows_read": progress["read"],
        "rows_checked": progress["checked"],
        "percent": progress["percent"],
        "eta_seconds": progress["eta_seconds"],
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "expires_at": job.finished_at + services.FILE_LIFETIME if has_file else None,
        "error": job.error,
        "summary": job.summary,
        "download_url": f"{base}/download" if has_file and job.result_file else None,
        "report_csv_url": f"{base}/report.csv" if has_file and job.report_file else None,
        "report_xlsx_url": f"{base}/report.xlsx" if has_file and job.report_file else None,
    }


def request_language() -> str:
    """The language the request asked for (Accept-Language, as LocaleMiddleware chose it)."""
    return "en" if (translation.get_language() or "de").startswith("en") else "de"


def _job(request: HttpRequest, job_id: uuid.UUID, kind: str) -> Job:
    job = services.get_job(actor=request.actor, job_id=job_id)
    if job.kind != kind:
        raise NotFound(_("There is no job %(id)s.") % {"id": job_id})
    return job


def _file(request: HttpRequest, job_id: uuid.UUID, kind: str, which: str) -> FileResponse:
    _job(request, job_id, kind)
    path, name = services.job_file(actor=request.actor, job_id=job_id, which=which)
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


@router.post(
    "/exports", response={201: JobOut, 202: JobOut, **JOB_ERRORS}, summary="Start an export"
)
def start_export(request: HttpRequest, payload: ExportIn):
    """Exports the customers the filter selects: XLSX below 100,000, else a ZIP of CSVs.

    Small exports are done when the answer comes (201); big ones run in the background
    (202): ask `GET /exports/{id}` until `state` is `done`, then fetch `download_url`.
    The file is kept for 24 hours.
    """
    data = payload.model_dump()
    language, separator = data.pop("language"), data.pop("separator")
    extra_columns = data.pop("extra_columns")
    f = parse_filter({k: v for k, v in data.items() if v is not None})
    job = services.start_export(
        actor=request.actor,
        f=f,
        language=language,
        separator=separator,
        extra_columns=extra_columns,
    )
    return (201 if job.finished else 202), job_out(job)


@router.get("/exports/{job_id}", response={200: JobOut, **JOB_ERRORS}, summary="Export status")
def export_status(request: HttpRequest, job_id: uuid.UUID):
    return job_out(_job(request, job_id, Job.Kind.EXPORT))


@router.get(
    "/exports/{job_id}/download", response={200: None, **JOB_ERRORS}, summary="Download an export"
)
def export_download(request: HttpRequest, job_id: uuid.UUID):
    return _file(request, job_id, Job.Kind.EXPORT, "result")


@router.post(
    "/exports/{job_id}/cancel", response={200: JobOut, **JOB_ERRORS}, summary="Cancel an export"
)
def export_cancel(request: HttpRequest, job_id: uuid.UUID):
    _job(request, job_id, Job.Kind.EXPORT)
    return job_out(services.cancel_job(actor=request.actor, job_id=job_id))


@router.post(
    "/imports", response={201: JobOut, 202: JobOut, **JOB_ERRORS}, summary="Start an import"
)
def start_import(
    request: HttpRequest,
    file: UploadedFile = File(...),  # noqa: B008
    mode: str = Form("all-or-nothing"),
    match: str = Form("number"),
    dry_run: bool = Form(False),
    mapping: str = Form(""),
    language: str = Form("", description="de or en; default: the request's Accept-Language"),
    sheet: str = Form("", max_length=100),
    header_row: int | None = Form(None, ge=1, le=1000),
):
    """Imports customers from CSV, XLSX or a ZIP made by the export.

    `mode`: all-or-nothing (default) or valid-rows; `match`: number (update customers with
    the same number) or new; `mapping`: JSON {"their heading": "field or heading"} for
    foreign files (null leaves a column out); `sheet`: a workbook's sheet by name or number
    (default: the first with known headings); `header_row`: the row of the headings as the
    spreadsheet numbers it (default: found in the first 20 rows). A file that cannot be
    read is refused with 422 and the reason before a job is made.
    Every row is checked with the rules of `POST /customers`. The error report is at
    `report_csv_url` / `report_xlsx_url`.
    """
    parsed = None
    if mapping:
        try:
            parsed = json.loads(mapping)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise DomainError(
                "invalid_mapping",
                _('The mapping must be JSON like {"their heading": "field"}.'),
                fields={"mapping": _("Not valid.")},
                status=422,
            )
    job = services.start_import(
        actor=request.actor,
        upload=file,
        name=file.name or "",
        mode=mode,
        match=match,
        dry_run=dry_run,
        mapping=parsed,
        language=language or request_language(),
        sheet=sheet or None,
        header_row=header_row,
    )
    return (201 if job.finished else 202), job_out(job)


@router.get("/imports/{job_id}", response={200: JobOut, **JOB_ERRORS}, summary="Import status")
def import_status(request: HttpRequest, job_id: uuid.UUID):
    return job_out(_job(request, job_id, Job.Kind.IMPORT))


@router.get(
    "/imports/{job_id}/report.{fmt}",
    response={200: None, **JOB_ERRORS},
    summary="Error report of an import",
)
def import_report(request: HttpRequest, job_id: uuid.UUID, fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise NotFound(_("Ask for report.csv or report.xlsx."))
    return _file(request, job_id, Job.Kind.IMPORT, f"report.{fmt}")


@router.post(
    "/imports/{job_id}/cancel", response={200: JobOut, **JOB_ERRORS}, summary="Cancel an import"
)
def import_cancel(request: HttpRequest, job_id: uuid.UUID):
    _job(request, job_id, Job.Kind.IMPORT)
    return job_out(services.cancel_job(actor=request.actor, job_id=job_id))
