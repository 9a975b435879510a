"""Portal pages of pricing (mounted under /pricing/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("levels/", views.set_level, name="set_level"),
    path("rules/", views.create_rule, name="create_rule"),
    path("rules/<int:rule_id>/deactivate/", views.deactivate_rule, name="deactivate_rule"),
]
