from django.urls import path

from . import views, views_compare

app_name = "meetings"

urlpatterns = [
    path("new/", views.meeting_create, name="create"),
    path("<int:meeting_id>/", views.meeting_detail, name="detail"),
    path("<int:meeting_id>/edit/", views.meeting_edit, name="edit"),
    path("<int:meeting_id>/compare/", views_compare.compare, name="compare"),
    path("<int:meeting_id>/compare/cell/", views_compare.compare_cell, name="compare_cell"),
    path("<int:meeting_id>/compare/report/", views_compare.observer_report, name="observer_report"),
]
