from django.urls import path

from . import views_data as views

app_name = "data"

urlpatterns = [
    path("data/", views.home, name="home"),
    path("data/excerpts.csv", views.excerpts_csv, name="excerpts_csv"),
    path("data/matrix.csv", views.matrix_csv, name="matrix_csv"),
    path("data/workbook.xlsx", views.workbook, name="workbook"),
    path("data/tokens/", views.token_create, name="token_create"),
    path("data/tokens/<int:token_id>/revoke", views.token_revoke, name="token_revoke"),
]
