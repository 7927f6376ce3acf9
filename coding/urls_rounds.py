from django.urls import path

from . import views_rounds as views

app_name = "rounds"

urlpatterns = [
    path("rounds/", views.round_list, name="list"),
    path("rounds/new/", views.round_create, name="create"),
    path("rounds/<int:round_id>/", views.round_detail, name="detail"),
    path("rounds/<int:round_id>/edit/", views.round_edit, name="edit"),
    path("rounds/<int:round_id>/reveal/", views.round_reveal, name="reveal"),
    path("rounds/<int:round_id>/close/", views.round_close, name="close"),
    path(
        "rounds/<int:round_id>/fieldnotes/<int:fieldnote_id>/done/",
        views.assignment_done,
        name="assignment_done",
    ),
]
