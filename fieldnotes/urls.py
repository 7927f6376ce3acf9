from django.urls import path

from . import views

app_name = "fieldnotes"

urlpatterns = [
    path("fieldnotes/<int:fieldnote_id>/", views.fieldnote_detail, name="detail"),
    path("fieldnotes/<int:fieldnote_id>/revise/", views.revise, name="revise"),
    path("fieldnotes/<int:fieldnote_id>/markers/", views.markers, name="markers"),
    path("meetings/<int:meeting_id>/upload/", views.upload, name="upload"),
    path("uploads/<uuid:batch>/", views.preview, name="preview"),
    path("uploads/<uuid:batch>/discard/", views.discard, name="discard"),
]
