"""URLs of the portal's export and import pages (under /exchange/)."""

from django.urls import path

from . import views

app_name = "exchange"
urlpatterns = [
    path("", views.job_list, name="jobs"),
    path("export/", views.export_start, name="export"),
    path("import/", views.import_upload, name="import"),
    path("import/<str:token>/", views.import_preview, name="import_preview"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job"),
    path("jobs/<uuid:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<uuid:job_id>/import/", views.job_import_now, name="job_import_now"),
    path("jobs/<uuid:job_id>/<str:which>", views.job_download, name="job_download"),
]
