from django.contrib import admin

from .models import (
    AgreementReport,
    Assignment,
    Code,
    Codebook,
    CodingRound,
    Disagreement,
    DisagreementComment,
    Excerpt,
    ExcerptCode,
)


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


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["coding_round", "fieldnote", "coder", "done_at"]
    raw_id_fields = ["coding_round", "fieldnote", "coder"]


class DisagreementCommentInline(admin.TabularInline):
    model = DisagreementComment
    extra = 0
    raw_id_fields = ["author"]


@admin.register(Disagreement)
class DisagreementAdmin(admin.ModelAdmin):
    list_display = ["pk", "report", "fieldnote", "code", "kind", "resolution"]
    list_filter = ["kind", "resolution"]
    raw_id_fields = [
        "report",
        "fieldnote",
        "code",
        "first_excerpt",
        "first_coder",
        "second_excerpt",
        "second_coder",
        "resolved_by",
        "consensus_excerpt",
    ]
    inlines = [DisagreementCommentInline]
