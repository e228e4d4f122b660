"""URL map of the dashboard."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

admin.site.site_header = "labweb administration"
admin.site.site_title = "labweb admin"
admin.site.index_title = "Records, rigs and accounts"


@login_not_required  # the login page's own tab asks for it too
def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the metrics' text, a JSON answer): the same icon."""
    return HttpResponsePermanentRedirect(static("labweb/favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("labweb.live.urls")),
    path("", include("labweb.records.urls")),
    path("", include("labweb.fleet.urls")),
    path("", include("labweb.transfers.urls")),
    path("", include("labweb.alerts.urls")),
    path("", include("labweb.history.urls")),
    path("", include("labweb.metrics.urls")),
    path("", include("labweb.api.urls")),
]
