from django.urls import path

from . import views, views_workspace

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
    path("codebook/codes.css", views_workspace.code_styles, name="code_styles"),
    path("fieldnotes/<int:fieldnote_id>/code/", views_workspace.coding_page, name="coding_page"),
    path(
        "fieldnotes/<int:fieldnote_id>/excerpts/",
        views_workspace.excerpt_create,
        name="excerpt_create",
    ),
    path("excerpts/<int:excerpt_id>/", views_workspace.excerpt_panel, name="excerpt"),
    path(
        "excerpts/<int:excerpt_id>/change/", views_workspace.excerpt_change, name="excerpt_change"
    ),
    path(
        "excerpts/<int:excerpt_id>/delete/", views_workspace.excerpt_delete, name="excerpt_delete"
    ),
    path("excerpt-events/<int:event_id>/undo/", views_workspace.event_undo, name="event_undo"),
]
