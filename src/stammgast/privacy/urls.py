"""Portal pages of privacy (mounted under /privacy/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("texts/publish/", views.publish_text, name="publish_text"),
    path("texts/<str:kind>/<int:version>/", views.legal_text, name="legal_text"),
    path("purposes/", views.define_purpose, name="define_purpose"),
    path("customers/<int:number>/consents/", views.record_consent, name="record_consent"),
    path("customers/<int:number>/download/", views.download_person, name="download_person"),
    path("customers/<int:number>/erasure/", views.receive_erasure, name="receive_erasure"),
    path("erasures/", views.erasures, name="erasures"),
    path("access-log/", views.access_log, name="access_log"),
    path("erasures/<int:request_id>/complete/", views.complete_erasure, name="complete_erasure"),
    path("settings/", views.save_settings, name="save_settings"),
]
