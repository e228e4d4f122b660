"""The alert history, acknowledgement, the open alerts as JSON, and a rig's planned absence."""

from django.urls import path

from . import views

urlpatterns = [
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/active.json", views.alerts_active_json, name="alerts-active"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("rigs/<str:name>/service/", views.rig_service, name="rig-service"),
]
