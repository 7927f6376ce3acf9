from django.urls import path

from . import views_adjudication as views

app_name = "adjudication"

urlpatterns = [
    path("reports/<int:report_id>/disagreements/", views.queue, name="queue"),
    path("disagreements/<int:disagreement_id>/", views.disagreement, name="disagreement"),
    path("disagreements/<int:disagreement_id>/resolve/", views.resolve, name="resolve"),
    path("disagreements/<int:disagreement_id>/reopen/", views.reopen, name="reopen"),
    path("disagreements/<int:disagreement_id>/comments/", views.comment, name="comment"),
]
