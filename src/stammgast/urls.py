"""URL map: portal, self-service, online payments, API and (for superusers) Django admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from stammgast.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("exchange/", include("stammgast.exchange.urls")),
    path("ledger/", include(("stammgast.ledger.urls", "ledger"))),
    path("bills/", include(("stammgast.bills.urls", "bills"))),
    path("pricing/", include(("stammgast.pricing.urls", "pricing"))),
    path("privacy/", include(("stammgast.privacy.urls", "privacy"))),
    path("me/", include(("stammgast.selfservice.urls", "selfservice"))),
    path("self-service/", include(("stammgast.selfservice.staff_urls", "selfservice_admin"))),
    path("pay/", include("stammgast.payments.urls")),
    path("", include("stammgast.portal.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
