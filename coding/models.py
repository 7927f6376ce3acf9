import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

colour_validator = RegexValidator(
    r"^#[0-9a-f]{6}$", "Give the colour as # and six lowercase hexadecimal digits, e.g. #1d5c8a."
)


class Codebook(models.Model):
    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="codebook"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Codebook of {self.project}"

    def tree(self, *, include_archived=False):
        """Codes in depth-first order, each with `depth` set; one query."""
        codes = self.codes.all() if include_archived else self.codes.filter(archived=False)
        children: dict[int | None, list[Code]] = {}
        for code in codes.order_by("position", "name", "pk"):
            children.setdefault(code.parent_id, []).append(code)
        ordered: list[Code] = []

        def walk(parent, depth):
            for code in children.get(parent.pk if parent else None, []):
                code.depth = depth
                if parent is not None:
                    code.parent = parent  # so that `path` needs no query per ancestor
                ordered.append(code)
                walk(code, depth + 1)

        walk(None, 0)
        return ordered


class Code(models.Model):
    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="codes")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Stored once, never regenerated: REFI-QDA exchange and past reports rely on it. Unique
    # within a codebook only: two projects may import the same codebook.
    guid = models.UUIDField(default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    definition = models.TextField(blank=True)
    inclusion = models.TextField("inclusion criteria", blank=True)
    exclusion = models.TextField("exclusion criteria", blank=True)
    example = models.TextField(blank=True)
    colour = models.CharField(max_length=7, default="#1d5c8a", validators=[colour_validator])
    shortcut = models.CharField(max_length=1, blank=True)
    is_codable = models.BooleanField(default=True)
    archived = models.BooleanField(default=False)
    # Set when this code was merged into another; it stays, archived, for history and old reports.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["codebook", "position", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["codebook", "shortcut"],
                condition=~models.Q(shortcut="") & models.Q(archived=False),
                name="one_code_per_shortcut",
                violation_error_message="Another code already uses this keyboard shortcut.",
            ),
            models.UniqueConstraint(
                fields=["codebook", "guid"], name="code_guid_unique_in_codebook"
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.parent_id is None:
            return
        if self.parent.codebook_id != self.codebook_id:
            raise ValidationError({"parent": "The parent code belongs to another codebook."})
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.pk == self.pk:
                raise ValidationError({"parent": "A code cannot sit inside itself."})
            ancestor = ancestor.parent

    @property
    def path(self) -> str:
        names = []
        code = self
        while code is not None:
            names.append(code.name)
            code = code.parent
        return "/".join(reversed(names))


class CodeChange(models.Model):
    """One change to a codebook: who, when, what before and after. Never edited or deleted."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Edited"
        MOVED = "moved", "Moved"
        ARCHIVED = "archived", "Archived"
        RESTORED = "restored", "Restored"
        MERGED = "merged", "Merged"
        SPLIT = "split", "Split"
        RECODED = "recoded", "Excerpts recoded"
        IMPORTED = "imported", "Imported"
        VERSION = "version", "Version labelled"

    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="changes")
    code = models.ForeignKey(
        Code, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    summary = models.CharField(max_length=500)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["codebook", "-at", "-pk"]

    def __str__(self):
        return self.summary


class CodebookVersion(models.Model):
    """A labelled state of the codebook ("v2 after pilot round"), kept as a full snapshot so that a
    report run on it can always say what its codes were, whatever happens to the codebook later."""

    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    label = models.CharField(max_length=200)
    snapshot = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["codebook", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["codebook", "number"], name="codebook_version_number_unique"
            ),
        ]

    def __str__(self):
        return f"v{self.number} {self.label}"


class ExcerptQuerySet(models.QuerySet):
    def visible_to(self, user, project):
        """The excerpts `user` may see in `project`, everywhere excerpts appear.

        A PI sees everything. Anyone else sees their own excerpts, and other people's except on
        fieldnotes of a blind coding round that the PI has not revealed yet.
        """
        return self.filter(fieldnote__meeting__project=project)._hide_blind(user, project)

    def visible_on(self, fieldnote, user, project):
        """The same rule for one fieldnote of `project`, without joining up to the project."""
        return self.filter(fieldnote=fieldnote)._hide_blind(user, project)

    def _hide_blind(self, user, project):
        if project.role == "pi":
            return self
        # fieldnotes__isnull=False: a round without fieldnotes yet would put a NULL in NOT IN,
        # which hides everything.
        hidden = CodingRound.objects.filter(
            project=project, blind=True, state=CodingRound.State.OPEN, fieldnotes__isnull=False
        ).values("fieldnotes")
        return self.filter(models.Q(coder=user) | ~models.Q(fieldnote__in=hidden))


class Excerpt(models.Model):
    """A span [start, end) of one fieldnote's text, by one coder, carrying one or more codes.

    Offsets are Unicode code points of the fieldnote's stored NFC text. `check_invariants` is the
    one place the span and code rules are enforced; `save` and the coding services call it.
    """

    fieldnote = models.ForeignKey(
        "fieldnotes.Fieldnote", on_delete=models.PROTECT, related_name="excerpts"
    )
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="excerpts"
    )
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    memo = models.TextField(blank=True)
    unsure = models.BooleanField(default=False)
    # Set when a revision of the fieldnote changed or deleted the excerpt's text.
    needs_review = models.BooleanField(default=False)
    review_reason = models.CharField(max_length=300, blank=True)
    codes = models.ManyToManyField(Code, through="ExcerptCode", related_name="excerpts")
    # Bumped by every change; an edit made from an older copy is refused as a conflict.
    revision = models.PositiveIntegerField(default=1)
    # Stable identity in exchange files (REFI-QDA guid), kept from import to export; unique
    # within a project (a copy of a project imported on the same server keeps its GUIDs).
    guid = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ExcerptQuerySet.as_manager()

    class Meta:
        ordering = ["fieldnote", "start", "end", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__gte=0), name="excerpt_start_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="excerpt_not_empty"
            ),
        ]
        indexes = [models.Index(fields=["fieldnote", "coder", "start"])]

    def __str__(self):
        return f"{self.fieldnote_id}[{self.start}:{self.end}] by {self.coder_id}"

    def save(self, *args, **kwargs):
        self.check_invariants()
        super().save(*args, **kwargs)

    @property
    def text(self) -> str:
        return self.fieldnote.text[self.start : self.end]

    def check_invariants(self, codes=()):
        length = len(self.fieldnote.text)
        if not (0 <= self.start < self.end <= length):
            raise ValidationError(
                f"An excerpt must satisfy 0 <= start < end <= {length} (the text's length); "
                f"got start={self.start}, end={self.end}."
            )
        project_id = self.fieldnote.meeting.project_id
        for code in codes:
            check_code_in_project(code, project_id)
        if len({code.pk for code in codes}) != len(codes):
            raise ValidationError("A code can be applied to an excerpt only once.")


def check_code_in_project(code, project_id):
    if code.codebook.project_id != project_id:
        raise ValidationError(f"The code {code.name!r} belongs to another project's codebook.")


class ExcerptCode(models.Model):
    excerpt = models.ForeignKey(Excerpt, on_delete=models.CASCADE, related_name="excerpt_codes")
    code = models.ForeignKey(Code, on_delete=models.PROTECT, related_name="excerpt_codes")
    # Stable identity in exchange files (REFI-QDA guid), kept from import to export; unique
    # within a project (a copy of a project imported on the same server keeps its GUIDs).
    guid = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["excerpt", "code"], name="code_once_per_excerpt"),
        ]

    def __str__(self):
        return f"{self.code_id} on excerpt {self.excerpt_id}"

    def save(self, *args, **kwargs):
        check_code_in_project(self.code, self.excerpt.fieldnote.meeting.project_id)
        super().save(*args, **kwargs)


class ExcerptEvent(models.Model):
    """The audit trail: an excerpt created, changed or deleted, with its state before and after."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Changed"
        DELETED = "deleted", "Deleted"
        RESTORED = "restored", "Restored"

    fieldnote = models.ForeignKey(
        "fieldnotes.Fieldnote", on_delete=models.CASCADE, related_name="excerpt_events"
    )
    # The excerpt's id, kept when the excerpt itself is gone, so its history stays together.
    excerpt_key = models.PositiveBigIntegerField(db_index=True)
    excerpt = models.ForeignKey(
        "Excerpt", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.get_action_display()} excerpt {self.excerpt_key}"


class ProjectMemo(models.Model):
    """A memo about the project as a whole (excerpt memos live on the excerpt)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="memos")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    # Stable identity in exchange files (REFI-QDA guid), kept from import to export; unique
    # within a project (a copy of a project imported on the same server keeps its GUIDs).
    guid = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "-updated_at", "pk"]

    def __str__(self):
        return self.title


class CodingRound(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        REVEALED = "revealed", "Revealed"
        CLOSED = "closed", "Closed"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="coding_rounds"
    )
    name = models.CharField(max_length=200)
    fieldnotes = models.ManyToManyField("fieldnotes.Fieldnote", related_name="coding_rounds")
    coders = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="coding_rounds")
    blind = models.BooleanField(default=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    due_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-created_at", "pk"]

    def __str__(self):
        return self.name

    @property
    def hides_work(self) -> bool:
        return self.blind and self.state == self.State.OPEN


class Assignment(models.Model):
    """One fieldnote for one coder in a coding round; the coder marks it done."""

    coding_round = models.ForeignKey(
        CodingRound, on_delete=models.CASCADE, related_name="assignments"
    )
    fieldnote = models.ForeignKey(
        "fieldnotes.Fieldnote", on_delete=models.CASCADE, related_name="assignments"
    )
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["coding_round", "fieldnote", "coder"]
        constraints = [
            models.UniqueConstraint(
                fields=["coding_round", "fieldnote", "coder"], name="assignment_once"
            ),
        ]

    def __str__(self):
        return f"{self.fieldnote_id} for {self.coder_id} in round {self.coding_round_id}"


class AgreementReport(models.Model):
    class Kind(models.TextChoices):
        CODERS = "coders", "Coders on the same fieldnote"
        OBSERVERS = "observers", "Observers of the same meeting"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        # The job queue could not be reached; the report is sent again when the page asks.
        WAITING = "waiting", "Waiting for the job queue"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="agreement_reports"
    )
    coding_round = models.ForeignKey(
        CodingRound, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The codebook as it was when the report ran: a later merge never rewrites an old report.
    codebook_version = models.ForeignKey(
        CodebookVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    parameters = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    results = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    # Each run (the first and every "run again") has its own number; a task carries the number
    # it was sent for and does nothing when the report has moved on, so retries are harmless.
    attempt = models.PositiveIntegerField(default=1)
    # Written with every progress step; a running report whose heartbeat stops has lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0.0, progress__lte=1.0),
                name="report_progress_in_unit_range",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} report {self.pk}"


class Disagreement(models.Model):
    """Two coders' spans of one code on one fieldnote that overlap without matching, or one
    coder's span that no other coder matched: one item of the adjudication queue. The spans are
    copied here, so the queue stays readable when the excerpts change later."""

    class Kind(models.TextChoices):
        PARTIAL = "partial", "Partly matched"
        UNMATCHED = "unmatched", "Unmatched"

    class Resolution(models.TextChoices):
        ACCEPT_FIRST = "first", "Accept A"
        ACCEPT_SECOND = "second", "Accept B"
        UNION = "union", "Union"
        INTERSECTION = "intersection", "Intersection"
        NEITHER = "neither", "Neither"
        EDIT = "edit", "Edited"

    report = models.ForeignKey(
        AgreementReport, on_delete=models.CASCADE, related_name="disagreements"
    )
    fieldnote = models.ForeignKey(
        "fieldnotes.Fieldnote", on_delete=models.CASCADE, related_name="disagreements"
    )
    code = models.ForeignKey(Code, on_delete=models.PROTECT, related_name="disagreements")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    first_excerpt = models.ForeignKey(
        Excerpt, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_start = models.PositiveIntegerField()
    first_end = models.PositiveIntegerField()
    # Empty for an unmatched span.
    second_excerpt = models.ForeignKey(
        Excerpt, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    second_coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    second_start = models.PositiveIntegerField(null=True, blank=True)
    second_end = models.PositiveIntegerField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The consensus coder's excerpt this decision made (none for "neither").
    consensus_excerpt = models.ForeignKey(
        Excerpt, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["report", "fieldnote", "first_start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_start__lt=models.F("first_end")),
                name="disagreement_first_span_not_empty",
            ),
            models.CheckConstraint(
                condition=models.Q(second_start__isnull=True)
                | models.Q(second_start__lt=models.F("second_end")),
                name="disagreement_second_span_not_empty",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.fieldnote_id} ({self.code_id})"

    @property
    def is_resolved(self) -> bool:
        return bool(self.resolution)


class DisagreementComment(models.Model):
    """The talk about why coders differ, kept with the disagreement: it is data too."""

    disagreement = models.ForeignKey(
        Disagreement, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["disagreement", "created_at", "pk"]

    def __str__(self):
        return f"Comment on disagreement {self.disagreement_id}"
