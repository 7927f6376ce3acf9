from django.urls import path

from . import views_search as views

app_name = "search"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("memos/", views.memos, name="memos"),
    path("memos/<int:memo_id>/", views.memo, name="memo"),
    path("memos/<int:memo_id>/delete/", views.memo_delete, name="memo_delete"),
]
