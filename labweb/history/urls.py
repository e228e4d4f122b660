"""History for the charts (JSON)."""

from django.urls import path

from . import views

urlpatterns = [
    path("rigs/<str:name>/history.json", views.rig_history, name="rig-history"),
    path("history/recent.json", views.rigs_recent, name="rigs-recent"),
]
