from django.contrib import admin

from .models import AgreementReport, Code, Codebook, CodingRound, Excerpt, ExcerptCode


class CodeInline(admin.TabularInline):
    model = Code
    extra = 0
    fields = ["name", "parent", "colour", "shortcut", "archived", "position"]
    raw_id_fields = ["parent"]


@admin.register(Codebook)
class CodebookAdmin(admin.ModelAdmin):
    list_display = ["project", "created_at"]
    inlines = [CodeInline]


@admin.register(Code)
class CodeAdmin(admin.ModelAdmin):
    list_display = ["name", "codebook", "parent", "colour", "shortcut", "archived"]
    list_filter = ["archived"]
    search_fields = ["name", "definition"]
    readonly_fields = ["guid"]


class ExcerptCodeInline(admin.TabularInline):
    model = ExcerptCode
    extra = 0
    raw_id_fields = ["code"]


@admin.register(Excerpt)
class ExcerptAdmin(admin.ModelAdmin):
    list_display = ["fieldnote", "coder", "start", "end", "unsure"]
    raw_id_fields = ["fieldnote", "coder"]
    inlines = [ExcerptCodeInline]


@admin.register(CodingRound)
class CodingRoundAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "blind", "state", "due_date"]
    filter_horizontal = ["fieldnotes", "coders"]


@admin.register(AgreementReport)
class AgreementReportAdmin(admin.ModelAdmin):
    list_display = ["pk", "project", "kind", "status", "progress", "created_at"]
    list_filter = ["kind", "status"]
    readonly_fields = ["created_at", "started_at", "finished_at"]
