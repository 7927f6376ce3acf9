from django.contrib import admin

from .models import LayDraft, LayInvitation


@admin.register(LayInvitation)
class LayInvitationAdmin(admin.ModelAdmin):
    list_display = ["label", "meeting", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["token_hash", "created_at", "last_used_at"]
    raw_id_fields = ["meeting", "observer", "created_by"]


@admin.register(LayDraft)
class LayDraftAdmin(admin.ModelAdmin):
    list_display = ["invitation", "name", "updated_at", "submitted_at"]
    raw_id_fields = ["invitation", "fieldnote"]
