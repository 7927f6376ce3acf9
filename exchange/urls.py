from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("projects/import/", views.import_project, name="import"),
    path("projects/<int:project_id>/exchange/", views.project_page, name="project"),
    path("projects/<int:project_id>/exchange/jobs/", views.jobs_fragment, name="jobs"),
    path("projects/<int:project_id>/exchange/export/", views.start_export, name="export"),
    path(
        "projects/<int:project_id>/exchange/exports/<int:job_id>/again/",
        views.export_again,
        name="export_again",
    ),
    path(
        "projects/<int:project_id>/exchange/exports/<int:job_id>/download/",
        views.download,
        name="download",
    ),
    path(
        "projects/<int:project_id>/exchange/placeholders/<int:placeholder_id>/map/",
        views.map_placeholder,
        name="map_placeholder",
    ),
    path(
        "projects/<int:project_id>/exchange/imports/<int:record_id>/",
        views.import_report,
        name="import_report",
    ),
]
