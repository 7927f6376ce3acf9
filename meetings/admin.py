from django.contrib import admin

from .models import AgendaItem, Meeting


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    extra = 0


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "starts_at", "ends_at", "place"]
    list_filter = ["project"]
    inlines = [AgendaItemInline]
