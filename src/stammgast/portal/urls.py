"""URL map of the staff portal: the shell's pages and the apps' pages under it."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

app_name = "portal"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    # Named by path, not imported: each app's pages are its own (DESIGN.md, layers).
    path("customers/", include(("stammgast.customers.urls", "customers"))),
    path("", views.dashboard, name="dashboard"),
]
