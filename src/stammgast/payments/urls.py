"""URLs of online payments (mounted under /pay/): the tenant is named in each path."""

from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("<slug:tenant>/callback/<slug:provider>/", views.callback, name="callback"),
    path("<slug:tenant>/status/<str:reference>/", views.status, name="status"),
    path("<slug:tenant>/sandbox/<str:reference>/", views.sandbox, name="sandbox"),
]
