"""Portal pages of the customers app (mounted by the portal under /customers/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("<int:number>/", views.customer_record, name="record"),
    path("<int:number>/<slug:register>/", views.customer_record, name="register"),
    path("<int:number>/<slug:register>/edit/", views.customer_register_edit, name="edit"),
]
