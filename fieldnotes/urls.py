from django.urls import path

from . import views

app_name = "fieldnotes"

urlpatterns = [
    path("<int:fieldnote_id>/", views.fieldnote_detail, name="detail"),
]
