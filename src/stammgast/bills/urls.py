"""Portal pages of the bills app (mounted under /bills/)."""

from django.urls import path

from . import views

urlpatterns = [path("<uuid:bill_id>/", views.bill_detail, name="bill")]
