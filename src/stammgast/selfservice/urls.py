"""The self-service area's pages (mounted under /me/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("<slug:slug>/", views.home, name="home"),
    path("<slug:slug>/brand.css", views.brand_css, name="brand_css"),
    path("<slug:slug>/register/", views.register, name="register"),
    path("<slug:slug>/register/sent/", views.registered, name="registered"),
    path("<slug:slug>/confirm/<str:token>/", views.confirm, name="confirm"),
    path("<slug:slug>/login/", views.login, name="login"),
    path("<slug:slug>/logout/", views.logout, name="logout"),
    path("<slug:slug>/reset/", views.reset, name="reset"),
    path("<slug:slug>/reset/<str:token>/", views.reset_password, name="reset_password"),
    path("<slug:slug>/password/", views.password, name="password"),
    path("<slug:slug>/data/", views.data, name="data"),
    path("<slug:slug>/consents/", views.consent, name="consent"),
    path("<slug:slug>/accept/", views.accept, name="accept"),
    path("<slug:slug>/email/", views.email, name="email"),
    path("<slug:slug>/email/<str:token>/", views.confirm_email, name="confirm_email"),
    path("<slug:slug>/top-up/", views.top_up, name="top_up"),
    path("<slug:slug>/cards/block/", views.block_card, name="block_card"),
    path("<slug:slug>/download/", views.download, name="download"),
    path("<slug:slug>/delete/", views.delete, name="delete"),
    path("<slug:slug>/delete/<str:token>/", views.confirm_erasure, name="confirm_erasure"),
    path("<slug:slug>/texts/<str:kind>/<int:version>/", views.legal_text, name="legal_text"),
]
