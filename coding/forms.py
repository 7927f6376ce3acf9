from django import forms

from projects.forms import PlainLabelsMixin

from .codebook import PALETTE, STARTERS
from .models import Code

OTHER = "other"


class CodeForm(PlainLabelsMixin, forms.ModelForm):
    """A code's name, meaning and look. Colour: one of the palette, or any other."""

    palette = forms.ChoiceField(
        label="Colour",
        choices=[(colour, colour) for colour in PALETTE] + [(OTHER, "Other colour")],
        widget=forms.RadioSelect,
        required=False,
    )
    custom_colour = forms.CharField(
        label="Other colour",
        required=False,
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    parent = forms.ModelChoiceField(
        label="Sits under", queryset=Code.objects.none(), required=False, empty_label="(top level)"
    )

    class Meta:
        model = Code
        fields = [
            "name",
            "parent",
            "definition",
            "inclusion",
            "exclusion",
            "example",
            "shortcut",
            "is_codable",
        ]
        labels = {
            "inclusion": "Use when",
            "exclusion": "Do not use when",
            "shortcut": "Keyboard shortcut",
            "is_codable": "Can be applied to text (untick for a folder)",
        }
        help_texts = {"shortcut": "One letter or digit, pressed while coding."}
        widgets = {
            "definition": forms.Textarea(attrs={"rows": 3}),
            "inclusion": forms.Textarea(attrs={"rows": 2}),
            "exclusion": forms.Textarea(attrs={"rows": 2}),
            "example": forms.Textarea(attrs={"rows": 2}),
            "shortcut": forms.TextInput(attrs={"maxlength": 1, "size": 2, "autocomplete": "off"}),
        }

    def __init__(self, *args, codebook, **kwargs):
        super().__init__(*args, **kwargs)
        self.codebook = codebook
        parents = codebook.codes.filter(archived=False)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents
        self.fields["parent"].label_from_instance = lambda code: code.path
        colour = (
            self.instance.colour
            if self.instance.pk
            else PALETTE[codebook.codes.count() % len(PALETTE)]
        )
        self.initial.setdefault("palette", colour if colour in PALETTE else OTHER)
        self.initial.setdefault("custom_colour", colour)

    def clean_shortcut(self):
        shortcut = self.cleaned_data["shortcut"].strip()
        if shortcut and not shortcut.isalnum():
            raise forms.ValidationError("Use a letter or a digit.")
        return shortcut.lower()

    def clean(self):
        data = super().clean()
        choice = data.get("palette") or OTHER
        colour = data.get("custom_colour") if choice == OTHER else choice
        colour = (colour or "").lower()
        if not colour:
            colour = self.instance.colour if self.instance.pk else PALETTE[0]
        data["colour"] = colour
        self.instance.colour = colour
        return data

    def code_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "definition": data["definition"],
            "inclusion": data["inclusion"],
            "exclusion": data["exclusion"],
            "example": data["example"],
            "shortcut": data["shortcut"],
            "is_codable": data["is_codable"],
            "colour": data["colour"],
        }


class MergeForm(PlainLabelsMixin, forms.Form):
    into = forms.ModelChoiceField(label="Merge into", queryset=Code.objects.none())

    def __init__(self, *args, source, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = source.codebook.codes.filter(archived=False).exclude(
            pk=source.pk
        )
        self.fields["into"].label_from_instance = lambda code: code.path


class SplitForm(PlainLabelsMixin, forms.Form):
    names = forms.CharField(
        label="New codes, one per line",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="They become child codes; you then choose which excerpts go to which.",
    )

    def clean_names(self):
        return [line.strip() for line in self.cleaned_data["names"].splitlines() if line.strip()]


class VersionForm(PlainLabelsMixin, forms.Form):
    label = forms.CharField(
        label="Label", max_length=200, help_text="For example “v2 after pilot round”."
    )


class ImportForm(PlainLabelsMixin, forms.Form):
    file = forms.FileField(
        label="A codebook file",
        required=False,
        help_text="REFI-QDA .qdc (from ATLAS.ti, MAXQDA, NVivo, QualCoder…) or .csv.",
    )
    starter = forms.ChoiceField(
        label="Or a starter codebook",
        choices=[("", "(none)"), *STARTERS.items()],
        required=False,
    )

    def clean(self):
        data = super().clean()
        if not data.get("file") and not data.get("starter"):
            raise forms.ValidationError("Choose a file or a starter codebook.")
        return data
