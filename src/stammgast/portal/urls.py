"""URL map of the staff portal: shell pages and the customer pages."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from stammgast.customers import views as customer_views

from . import views

app_name = "portal"

customer_urls = [
    path("", customer_views.customer_list, name="list"),
    path("new/", customer_views.customer_create, name="create"),
    path("<int:number>/", customer_views.customer_record, name="record"),
    path("<int:number>/<slug:register>/", customer_views.customer_record, name="register"),
    path(
        "<int:number>/<slug:register>/edit/",
        customer_views.customer_register_edit,
        name="edit",
    ),
]

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("customers/", include((customer_urls, "customers"))),
    path("", views.dashboard, name="dashboard"),
]
