"""Pages of the live dashboard and the session controls."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sessions/start/", views.session_start, name="session-start"),
    path("sessions/<str:exp_ref>/control/", views.session_control, name="session-control"),
]
