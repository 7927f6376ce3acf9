from django.contrib import admin

from .models import Fieldnote, Observer, PendingUpload, TimeMarker


@admin.register(Observer)
class ObserverAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "user"]
    raw_id_fields = ["user"]


@admin.register(Fieldnote)
class FieldnoteAdmin(admin.ModelAdmin):
    list_display = ["title", "meeting", "observer", "version", "source_format", "created_at"]
    list_filter = ["source_format"]
    raw_id_fields = ["meeting", "observer", "previous_version", "created_by"]
    readonly_fields = ["created_at"]


@admin.register(TimeMarker)
class TimeMarkerAdmin(admin.ModelAdmin):
    list_display = ["text", "fieldnote", "offset", "moment", "confirmed"]
    raw_id_fields = ["fieldnote"]


@admin.register(PendingUpload)
class PendingUploadAdmin(admin.ModelAdmin):
    list_display = ["source_name", "meeting", "uploaded_by", "created_at", "error"]
    raw_id_fields = ["meeting", "uploaded_by", "revises"]
