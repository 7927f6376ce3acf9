from django import forms
from django.contrib.auth import get_user_model

from fieldnotes.models import Fieldnote
from projects.forms import PlainLabelsMixin

from .models import Code, CodingRound
from .reports import DEFAULT_FLAGS, MEASURES, comparable_coders

ROUND, CHOSEN = "round", "chosen"


class ReportForm(PlainLabelsMixin, forms.Form):
    """What to compare and how. The template lays the choices out itself (codes in their tree,
    fieldnotes by meeting); the fields check them."""

    scope = forms.ChoiceField(
        choices=[(ROUND, "A coding round"), (CHOSEN, "Fieldnotes and coders I choose")],
        widget=forms.RadioSelect,
        initial=ROUND,
    )
    coding_round = forms.ModelChoiceField(
        label="Coding round", queryset=CodingRound.objects.none(), required=False
    )
    fieldnotes = forms.ModelMultipleChoiceField(
        queryset=Fieldnote.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    coders = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    codes = forms.ModelMultipleChoiceField(
        queryset=Code.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    measures = forms.MultipleChoiceField(
        choices=list(MEASURES.items()),
        initial=list(MEASURES),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one measure."},
    )
    threshold = forms.IntegerField(
        label="Overlap needed for two segments to match (%)",
        min_value=1,
        max_value=100,
        initial=90,
    )
    count_uncoded = forms.BooleanField(
        label="Count uncoded text",
        required=False,
        initial=True,
        help_text="Untick to compare only the characters someone coded: agreement on leaving "
        "text uncoded then no longer counts.",
    )
    flag_low = forms.DecimalField(
        label="Flag codes with alpha below",
        min_value=0.01,
        max_value=1,
        decimal_places=3,
        initial=DEFAULT_FLAGS[0],
        help_text="0.667 is Krippendorff's lowest level for tentative conclusions.",
    )
    flag_high = forms.DecimalField(
        label="and, less strongly, below",
        min_value=0.01,
        max_value=1,
        decimal_places=3,
        initial=DEFAULT_FLAGS[1],
        help_text="0.8 is his level for relying on a code.",
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["coding_round"].queryset = CodingRound.objects.filter(project=project)
        self.fields["fieldnotes"].queryset = (
            Fieldnote.objects.in_project(project)
            .latest_versions()
            .select_related("meeting", "observer")
            .order_by("meeting__starts_at", "meeting__pk", "observer__name", "pk")
        )
        self.fields["coders"].queryset = (
            get_user_model()
            .objects.filter(pk__in=comparable_coders(project).values("user"))
            .order_by("first_name", "last_name", "username")
        )
        self.fields["codes"].queryset = Code.objects.filter(
            codebook__project=project, is_codable=True, archived=False
        )

    def clean(self):
        data = super().clean()
        if data.get("scope") == ROUND and not data.get("coding_round"):
            self.add_error(
                "coding_round", "Choose a coding round, or choose fieldnotes and coders."
            )
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        by_round = data["scope"] == ROUND
        return {
            "coding_round": data["coding_round"] if by_round else None,
            "fieldnotes": None if by_round else list(data["fieldnotes"]),
            "coders": None if by_round else list(data["coders"]),
            "codes": list(data["codes"]),
            "measures": data["measures"],
            "threshold": data["threshold"] / 100,
            "exclude_uncoded": not data["count_uncoded"],
            "flag_below": (float(data["flag_low"]), float(data["flag_high"])),
        }
