"""The portal's page for the guest area (mounted under /self-service/)."""

from django.urls import path

from . import staff_views

urlpatterns = [path("", staff_views.area_settings, name="settings")]
