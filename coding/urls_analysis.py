from django.urls import path

from . import views_analysis as views

app_name = "analysis"

urlpatterns = [
    path("codes/<int:code_id>/excerpts/", views.retrieval, name="retrieval"),
    path("codes/<int:code_id>/excerpts.csv", views.retrieval_csv, name="retrieval_csv"),
    path("co-occurrence/", views.cooccurrence, name="cooccurrence"),
]
