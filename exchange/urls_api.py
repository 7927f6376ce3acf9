from django.urls import path

from . import api

app_name = "api"

urlpatterns = [
    path("projects/<int:project_id>/", api.project_summary, name="project"),
    path("projects/<int:project_id>/codes/", api.codes, name="codes"),
    path("projects/<int:project_id>/fieldnotes/", api.fieldnotes, name="fieldnotes"),
    path("projects/<int:project_id>/excerpts/", api.excerpts, name="excerpts"),
    path("projects/<int:project_id>/matrix/", api.matrix, name="matrix"),
]
