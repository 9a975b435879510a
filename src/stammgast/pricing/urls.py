"""Portal pages of pricing (mounted under /pricing/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("levels/", views.group_levels, name="levels"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/stop/", views.rule_stop, name="rule_stop"),
]
