"""Portal pages of the ledger (mounted by the portal under /ledger/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:number>/top-up/", views.top_up, name="top_up"),
    path("<int:number>/correct/", views.correct, name="correct"),
    path("<int:number>/settle/", views.settle, name="settle"),
    path("<int:number>/statement/", views.statement, name="statement"),
]
