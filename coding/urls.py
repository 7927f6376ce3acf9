from django.urls import path

from . import views

app_name = "coding"

urlpatterns = [
    path("codebook/", views.codebook_detail, name="codebook"),
    path("codebook/add/", views.code_add, name="code_add"),
    path("codebook/history/", views.history, name="history"),
    path("codebook/import/", views.import_codes, name="import"),
    path("codebook/export.qdc", views.export_qdc, name="export_qdc"),
    path("codebook/export.csv", views.export_csv, name="export_csv"),
    path("codebook/<int:code_id>/", views.code_entry, name="code"),
    path("codebook/<int:code_id>/edit/", views.code_edit, name="code_edit"),
    path("codebook/<int:code_id>/move/", views.code_move, name="code_move"),
    path("codebook/<int:code_id>/archive/", views.code_archive, name="code_archive"),
    path("codebook/<int:code_id>/merge/", views.code_merge, name="code_merge"),
    path("codebook/<int:code_id>/split/", views.code_split, name="code_split"),
    path("codebook/<int:code_id>/recode/", views.code_recode, name="code_recode"),
]
