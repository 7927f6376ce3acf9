from django.urls import path

from . import views

app_name = "meetings"

urlpatterns = [
    path("<int:meeting_id>/", views.meeting_detail, name="detail"),
]
