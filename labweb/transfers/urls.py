"""Pages of the transfer audit."""

from django.urls import path

from . import views

urlpatterns = [
    path("transfers/", views.transfer_list, name="transfer-list"),
    path("transfers/transfers.csv", views.transfer_list_csv, name="transfer-list-csv"),
    path("transfers/<int:pk>/", views.transfer_detail, name="transfer-detail"),
    path("transfers/<int:pk>/files.csv", views.transfer_files_csv, name="transfer-files-csv"),
    path("transfers/<int:pk>/verify/", views.transfer_reverify, name="transfer-reverify"),
]
