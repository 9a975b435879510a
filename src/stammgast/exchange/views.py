"""Portal pages for export and import: confirm, upload with preview and mapping, job progress."""

from __future__ import annotations

import secrets
import shutil
import uuid
from pathlib import Path

from django.core.files import File
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from stammgast.core.errors import DomainError
from stammgast.customers.filters import (
    FILTER_PARAMS,
    describe_filter,
    filter_in_words,
    parse_filter,
)
from stammgast.tenants.pages import render_page, staff_required

from . import services
from .columns import EXPORT_COLUMNS, IMPORT_COLUMNS, column_letter
from .headings import plan_columns, read_headings
from .models import Job
from .readers import check_upload_size, open_table

PREVIEW_ROWS = 5
# The choice of a column with data that no heading or synonym names: not a field, not
# "leave out"; the preview cannot be sent until someone decides.
UNDECIDED = "?"
_CHOICE_ERRORS = ("no_such_sheet", "no_heading_row", "invalid_header_row")


def _language() -> str:
    return "en" if (translation.get_language() or "de").startswith("en") else "de"


def _error_page(request: HttpRequest, exc: DomainError, retry: str = "") -> HttpResponse:
    return render_page(
        request,
        "exchange/error.html",
        {"nav": "jobs", "error": exc, "retry": retry},
        status=exc.status,
    )


# --- export ----------------------------------------------------------------------------


@staff_required
def export_start(request: HttpRequest) -> HttpResponse:
    """GET: what will be exported (count, format); POST: start the export job."""
    actor = request.actor
    params = request.POST if request.method == "POST" else request.GET
    try:
        f = parse_filter({k: params.get(k) for k in FILTER_PARAMS})
        total = services.count_customers_for_export(actor=actor, f=f)
        if request.method == "POST":
            job = services.start_export(
                actor=actor,
                f=f,
                language=_language(),
                separator=params.get("separator") or services.DEFAULT_SEPARATOR,
                extra_columns=params.getlist("extra_columns"),
            )
            return redirect("exchange:job", job_id=job.uid)
    except DomainError as exc:
        return _error_page(request, exc)
    return render_page(
        request,
        "exchange/export.html",
        {
            "nav": "jobs",
            "total": total,
            "format": services.export_format(total).upper(),
            "threshold": services.ZIP_THRESHOLD,
            "optional_columns": [
                (c.field, c.header(_language())) for c in services.OPTIONAL_EXPORT_COLUMNS
            ],
            "settings": describe_filter(f),
            "params": {k: params.get(k) for k in FILTER_PARAMS if params.get(k)},
            "back": reverse("portal:customers:list")
            + ("?" + request.GET.urlencode() if request.GET else ""),
        },
    )


# --- jobs ------------------------------------------------------------------------------


def _job_context(job: Job) -> dict:
    progress = services.job_progress(job)
    eta = progress["eta_seconds"]
    return {
        "job": job,
        "progress": progress,
        "eta": f"{eta // 60}:{eta % 60:02d}" if eta is not None else "",
        "expires_at": job.finished_at + services.FILE_LIFETIME if job.finished_at else None,
        "summary": job.summary,
    }


@staff_required
def job_detail(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    try:
        job = services.get_job(actor=request.actor, job_id=job_id)
    except DomainError as exc:
        return _error_page(request, exc)
    context = {"nav": "jobs", **_job_context(job)}
    if request.htmx and request.htmx.target == "job-status":
        return render(request, "exchange/_job_status.html", context)
    return render_page(request, "exchange/job.html", context)


@staff_required
def job_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    jobs = []
    for job in Job.objects.order_by("-created_at")[:50]:
        try:
            shown = services.get_job(actor=actor, job_id=job.uid)
        except DomainError:
            continue
        if shown.kind == "export":
            # The filter an export selected, in words ("Blocked: only blocked customers").
            shown.filter_words = filter_in_words(parse_filter(shown.params.get("filter", {})))
        jobs.append(shown)
    return render_page(request, "exchange/jobs.html", {"nav": "jobs", "jobs": jobs})


@staff_required
def job_download(request: HttpRequest, job_id: uuid.UUID, which: str) -> HttpResponse:
    try:
        path, name = services.job_file(actor=request.actor, job_id=job_id, which=which)
    except DomainError as exc:
        return _error_page(request, exc)
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


@require_POST
@staff_required
def job_import_now(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """After a dry run: import the same file with the same mapping."""
    try:
        job = services.import_after_dry_run(actor=request.actor, job_id=job_id)
    except DomainError as exc:
        return _error_page(request, exc)
    return redirect("exchange:job", job_id=job.uid)


@require_POST
@staff_required
def job_cancel(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    try:
        services.cancel_job(actor=request.actor, job_id=job_id)
    except DomainError as exc:
        return _error_page(request, exc)
    return redirect("exchange:job", job_id=job_id)


# --- import ----------------------------------------------------------------------------
# Upload -> preview (headings, the first rows, a field for each column) -> start the job.
# Between the two steps the file waits in a folder only this tenant's token opens.


def _pending_dir(request: HttpRequest, token: str) -> Path:
    if not token or not token.isalnum():
        raise DomainError("not_found", _("This upload is gone; upload the file again."), status=404)
    return services.jobs_dir() / "pending" / f"{request.actor.tenant.pk}-{token}"


def _pending_file(request: HttpRequest, token: str) -> Path:
    folder = _pending_dir(request, token)
    files = list(folder.iterdir()) if folder.is_dir() else []
    if not files:
        raise DomainError("not_found", _("This upload is gone; upload the file again."), status=404)
    return files[0]


@staff_required
def import_upload(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not actor.can("customers.import"):
        return _error_page(
            request,
            DomainError("permission_denied", _("You may not import customers."), status=403),
        )
    error = None
    if request.method == "POST":
        try:
            # Refuse an oversized upload by its announced length, before receiving it.
            check_upload_size(max(0, int(request.META.get("CONTENT_LENGTH") or 0) - 64 * 1024))
            upload = request.FILES.get("file")
            if upload is None:
                raise DomainError("no_file", _("Choose a file."), fields={"file": _("Required.")})
            check_upload_size(upload.size)
            token = secrets.token_hex(16)
            folder = _pending_dir(request, token)
            folder.mkdir(parents=True)
            name = Path(upload.name or "upload").name or "upload"
            with (folder / name).open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            return redirect("exchange:import_preview", token=token)
        except DomainError as exc:
            error = exc
    return render_page(
        request,
        "exchange/import.html",
        {"nav": "import", "error": error, "limit_mb": check_upload_size_limit_mb()},
        status=error.status if error else 200,
    )


def check_upload_size_limit_mb() -> int:
    from .readers import max_upload_bytes

    return max_upload_bytes() // (1024 * 1024)


def _where(params) -> dict:
    """The sheet and heading row the user chose in the preview (none: found by the reader)."""
    sheet = (params.get("sheet") or "").strip()[:100] or None
    row = (params.get("header_row") or "").strip()
    if row and not (row.isdigit() and 1 <= int(row) <= services.MAX_HEADER_ROW):
        raise DomainError(
            "invalid_header_row",
            _("A row number from 1 to %(n)d.") % {"n": services.MAX_HEADER_ROW},
            fields={"header_row": _("Not valid.")},
            status=422,
        )
    return {"sheet": sheet, "header_row": int(row) if row else None}


@staff_required
def import_preview(request: HttpRequest, token: str) -> HttpResponse:
    actor = request.actor
    try:
        actor.require("customers.import", _("You may not import customers."))
        path = _pending_file(request, token)
        params = request.POST if request.method == "POST" else request.GET
        where = _where(params)
        with open_table(path, **where) as table:
            headers = [str(h) for h in table.headers]
            found = {
                "sheet": table.sheet,
                "sheet_names": table.sheet_names,
                "header_row": table.header_row,
            }
            sample = []
            # The file's own row numbers head the sample columns, as the spreadsheet shows them.
            sample_rows = []
            for row_no, cells in table.rows:
                sample.append([str(c) if c is not None else "" for c in cells])
                sample_rows.append(row_no)
                if len(sample) >= PREVIEW_ROWS:
                    break
    except DomainError as exc:
        # A file that cannot be read is gone; a sheet or row chosen badly can be chosen again.
        if "path" in locals() and exc.code in _CHOICE_ERRORS:
            return _error_page(request, exc, retry=request.path)
        if "path" in locals():
            shutil.rmtree(path.parent, ignore_errors=True)
        return _error_page(request, exc)

    error = None
    # Every recognised column gets its field; a column nobody knows that holds data gets
    # no choice at all, so that it cannot be left out without a word ("?" below).
    headings = read_headings(headers)
    proposed = headings.proposed()
    notes = {c.index: c.reason for c in headings.left_out}
    with_data = {i for row in sample for i, value in enumerate(row) if value.strip()}
    undecided = {i for i, _h in headings.unknown if i in with_data}
    chosen = {
        i: proposed.get(i) or (UNDECIDED if i in undecided else "") for i in range(len(headers))
    }
    options = {
        "mode": "all-or-nothing",
        "match": "number",
        "dry_run": True,
    }
    if request.method == "POST":
        chosen = {i: request.POST.get(f"col{i}", "") for i in range(len(headers))}
        options = {
            "mode": request.POST.get("mode", "all-or-nothing"),
            "match": request.POST.get("match", "number"),
            "dry_run": request.POST.get("dry_run") == "on",
        }
        mapping = {h: (chosen[i] or None) for i, h in enumerate(headers) if h.strip()}
        try:
            open_columns = [
                f"{column_letter(i)} ({headers[i]})"
                for i, value in chosen.items()
                if value == UNDECIDED
            ]
            if open_columns:
                raise DomainError(
                    "mapping_needed",
                    _("Choose a field or “leave out” for every marked column: %(cols)s.")
                    % {"cols": ", ".join(open_columns)},
                    fields={"mapping": _("Give a column mapping.")},
                    status=422,
                )
            plan_columns(headers, mapping, match=options["match"])
            with path.open("rb") as fh:
                upload = File(fh, name=path.name)
                job = services.start_import(
                    actor=actor,
                    upload=upload,
                    name=path.name,
                    mapping=mapping,
                    language=_language(),
                    sheet=found["sheet"] or None,
                    header_row=found["header_row"],
                    **options,
                )
            shutil.rmtree(path.parent, ignore_errors=True)
            return redirect("exchange:job", job_id=job.uid)
        except DomainError as exc:
            error = exc
    fields = [(c.field, c.header(_language())) for c in IMPORT_COLUMNS.values()]
    columns = [
        {
            "index": i,
            "letter": column_letter(i),
            "header": h,
            "chosen": chosen.get(i, ""),
            "undecided": chosen.get(i) == UNDECIDED,
            "note": notes.get(i, ""),
            "values": [row[i] if i < len(row) else "" for row in sample],
        }
        for i, h in enumerate(headers)
    ]
    return render_page(
        request,
        "exchange/preview.html",
        {
            "nav": "import",
            "name": path.name,
            "columns": columns,
            "sample_rows": sample_rows,
            "fields": fields,
            "options": options,
            "error": error,
            "export_columns": EXPORT_COLUMNS,
            **found,
        },
        status=error.status if error else 200,
    )
