"""Pages for subjects and sessions."""

from django.urls import path

from . import views

urlpatterns = [
    path("subjects/", views.subject_list, name="subject-list"),
    path("subjects/add/", views.subject_add, name="subject-add"),
    path("subjects/<str:name>/", views.subject_detail, name="subject-detail"),
    path("subjects/<str:name>/edit/", views.subject_edit, name="subject-edit"),
    path("sessions/", views.session_list, name="session-list"),
    path("sessions/start/", views.session_start, name="session-start"),
    path("sessions/<str:exp_ref>/control/", views.session_control, name="session-control"),
    path("sessions/<str:exp_ref>/story/", views.session_story_lines, name="session-story"),
    path("sessions/<str:exp_ref>/", views.session_detail, name="session-detail"),
]
