"""The rig page: facts, spool history, commands and events of one rig."""

from django.urls import path

from . import views

urlpatterns = [
    path("rigs/<str:name>/", views.rig_detail, name="rig-detail"),
]
