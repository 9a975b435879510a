"""URL map of the staff portal: the shell's pages and the apps' pages under it."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

app_name = "portal"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("two-factor/", views.two_factor_status, name="two_factor"),
    path("two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path(
        "two-factor/recovery-codes/",
        views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("two-factor/disable/", views.two_factor_disable, name="two_factor_disable"),
    path("settings/", views.tenant_settings, name="tenant_settings"),
    path(
        "settings/reset-two-factor/",
        views.tenant_settings_reset_two_factor,
        name="tenant_settings_reset_two_factor",
    ),
    # Named by path, not imported: each app's pages are its own (DESIGN.md, layers).
    path("customers/", include(("stammgast.customers.urls", "customers"))),
    path("", views.dashboard, name="dashboard"),
]
