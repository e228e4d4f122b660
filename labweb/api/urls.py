"""URLs of the API: /api/v1/ (endpoints, schema, docs) and the API page (/api/tokens/)."""

from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from . import pages
from .errors import not_found
from .views.fleet import CommandViewSet, RigEventViewSet, RigViewSet, SpoolViewSet
from .views.records import SessionViewSet, SubjectViewSet
from .views.transfers import SpoolRunViewSet, TransferViewSet


class ApiRouter(DefaultRouter):
    # No `.json` suffix routes: rig names hold dots ("rigs/cam.left/" must name the rig cam.left).
    include_format_suffixes = False


router = ApiRouter()
router.register("rigs", RigViewSet, basename="api-rig")
router.register("spool", SpoolViewSet, basename="api-spool")
router.register("subjects", SubjectViewSet, basename="api-subject")
router.register("sessions", SessionViewSet, basename="api-session")
router.register("transfers", TransferViewSet, basename="api-transfer")
router.register("spool-runs", SpoolRunViewSet, basename="api-spoolrun")
router.register("commands", CommandViewSet, basename="api-command")
router.register("events", RigEventViewSet, basename="api-event")

# DRF's views are exempt from LoginRequiredMiddleware (DRF >= 3.16): a script is answered 401 in JSON, not sent to
# the login page.
v1 = [
    *router.urls,
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
]

urlpatterns = [
    path("api/v1/", include(v1)),
    # The interactive docs are a page for people: the login page first, then the browser's session works there.
    path("api/v1/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/tokens/", pages.token_list, name="api-tokens"),
    path("api/tokens/<int:pk>/revoke/", pages.token_revoke, name="api-token-revoke"),
    re_path(r"^api/", login_not_required(not_found)),
]
