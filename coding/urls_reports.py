from django.urls import path

from . import views_reports as views

app_name = "reports"

urlpatterns = [
    path("reports/", views.report_list, name="list"),
    path("reports/new/", views.create, name="create"),
    path("reports/<int:report_id>/", views.detail, name="detail"),
    path("reports/<int:report_id>/progress/", views.progress, name="progress"),
    path("reports/<int:report_id>/run-again/", views.run_again, name="run_again"),
    path("reports/<int:report_id>/report.csv", views.report_csv, name="csv"),
    path("reports/<int:report_id>/report.xlsx", views.report_xlsx, name="xlsx"),
    path("reports/<int:report_id>/print/", views.print_view, name="print"),
]
