"""Pages for subjects and sessions."""

from django.urls import path

urlpatterns = []
