"""The Content Security Policy and what it relies on: no inline script or style in any template or
served page, no eval in our JavaScript, and uploads and exports that no URL serves directly."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.urls import Resolver404, resolve, reverse

from config.middleware import CONTENT_SECURITY_POLICY
from exchange.exports import exports_dir
from fieldnotes.models import PendingUpload

from .test_permission_walk import EXPECTED, HTMX_GET_OUTCOMES, OK, ROUTES, url_kwargs  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def test_policy_is_strict():
    assert CONTENT_SECURITY_POLICY == POLICY


def _template_dirs():
    """templates/ and the templates folder of any of our own apps (none so far)."""
    dirs = [ROOT / "templates"]
    for app in apps.get_app_configs():
        folder = Path(app.path) / "templates"
        if folder.is_dir() and folder.is_relative_to(ROOT) and ".venv" not in folder.parts:
            dirs.append(folder)
    return dirs


# What the policy would block, or what needs eval (htmx's hx-on).
INLINE = {
    "script without src": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event-handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "hx-on attribute": re.compile(r"\shx-on\b", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_templates_have_no_inline_script_or_style():
    found = []
    files = [path for folder in _template_dirs() for path in sorted(folder.rglob("*.html"))]
    assert len(files) > 60
    for path in files:
        source = path.read_text()
        for what, pattern in INLINE.items():
            for match in pattern.finditer(source):
                line = source.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == []


def test_the_scanner_finds_each_kind():
    source = (
        '<script>go()</script><style>p{}</style><p style="x" onclick="y" hx-on:click="z">'
        '<a href="javascript:void(0)">'
    )
    assert [what for what, pattern in INLINE.items() if pattern.search(source)] == list(INLINE)
    assert inline_in(source) == [
        "script without src",
        "style element",
        "style attribute on <p>",
        "onclick on <p>",
        "hx-on:click on <p>",
        "javascript: URL in href on <a>",
    ]
    assert not any(
        pattern.search('<script type="module" src="/static/js/app.js"></script><p class="on">')
        for pattern in INLINE.values()
    )


class InlineFinder(HTMLParser):
    """What in a served page the policy would block."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("script without src")
        if tag == "style":
            self.found.append("style element")
        if "style" in names:
            self.found.append(f"style attribute on <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on"):
                self.found.append(f"{name} on <{tag}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL in {name} on <{tag}>")


def inline_in(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def test_served_pages_have_no_inline_script_or_style_and_carry_the_policy(
    client,
    users,
    url_kwargs,  # noqa: F811
):
    """Every page and fragment of the permission walk a PI can open, as served."""
    client.force_login(users["pi"])
    problems, pages = [], 0
    for name in sorted(EXPECTED):
        url = reverse(name, kwargs={param: url_kwargs[param] for param in ROUTES[name]})
        for htmx in (False, True):
            expected = EXPECTED[name][0]["pi"]
            if htmx:
                expected = HTMX_GET_OUTCOMES.get(name, {}).get("pi", expected)
            response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
            where = f"GET {name}{' (htmx)' if htmx else ''}"
            if response.get("Content-Security-Policy") != POLICY:
                problems.append(f"{where}: policy {response.get('Content-Security-Policy')!r}")
            if expected != OK or not response["Content-Type"].startswith("text/html"):
                continue
            pages += 1
            problems.extend(f"{where}: {found}" for found in inline_in(response.text))
    assert problems == []
    assert pages > 100


@pytest.mark.parametrize(
    "path, status", [("/", 302), ("/no-such-page/", 404), ("/accounts/login/", 200)]
)
def test_anonymous_answers_carry_the_policy(client, db, path, status):
    response = client.get(path)
    assert (response.status_code, response["Content-Security-Policy"]) == (status, POLICY)


def test_forbidden_and_missing_pages_carry_the_policy(client, users, project):
    client.force_login(users["coder"])
    forbidden = client.get(reverse("reports:list", args=[project.pk]))
    missing = client.get(reverse("projects:home", args=[project.pk + 1000]))
    assert (forbidden.status_code, forbidden["Content-Security-Policy"]) == (403, POLICY)
    assert (missing.status_code, missing["Content-Security-Policy"]) == (404, POLICY)
    assert inline_in(forbidden.text) == inline_in(missing.text) == []


def test_htmx_may_not_inject_styles_or_eval():
    """Left to its defaults htmx adds a <style> element (which the policy blocks) and evaluates
    hx-on and trigger filters (which would need 'unsafe-eval')."""
    base = (ROOT / "templates" / "base.html").read_text()
    assert '"includeIndicatorStyles": false' in base
    assert '"allowEval": false' in base
    assert '"allowScriptTags": false' in base


SCRIPTS = sorted((ROOT / "static" / "js").glob("*.js"))
# Setting a property through CSSOM (element.style.top = …) is allowed under style-src 'self';
# these are the only ones, each needed for layout that depends on where text falls.
CSSOM_ALLOWED = {"coding.js": ["label.style.top = `${top}px`;"]}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_scripts_use_no_eval_and_no_inline_styles(path):
    source = path.read_text()
    forbidden = re.compile(
        r"\beval\s*\(|new\s+Function\b|\bset(?:Timeout|Interval)\s*\(\s*[\"'`]"
        r"|setAttribute\(\s*[\"'](?:style|on[a-z]+)[\"']|\.style\.cssText|\.on[a-z]+\s*=\s*[\"'`]"
        r"|\b(?:style|on[a-z]+)=[\"\\]"
    )
    assert [match.group(0) for match in forbidden.finditer(source)] == []
    cssom = [line.strip() for line in source.splitlines() if re.search(r"\.style\.\w+\s*=", line)]
    assert cssom == CSSOM_ALLOWED.get(path.name, [])


def test_there_are_scripts_to_check():
    assert [path.name for path in SCRIPTS] == [
        "adjudicate.js",
        "app.js",
        "coding.js",
        "copy.js",
        "lay-form.js",
    ]


# Uploads and exports: stored outside the web root, served only through views that check access.


def test_uploads_and_exports_are_outside_every_static_folder():
    served = [Path(django_settings.STATIC_ROOT), *map(Path, django_settings.STATICFILES_DIRS)]
    for private in (Path(django_settings.MEDIA_ROOT), exports_dir()):
        for root in served:
            assert not private.resolve().is_relative_to(root.resolve()), (private, root)
            assert not root.resolve().is_relative_to(private.resolve()), (private, root)


@pytest.mark.parametrize(
    "path",
    [
        "/media/notes.txt",
        "/uploads/notes.txt",
        "/exports/1/1.qdpx",
        "/var/exports/1/1.qdpx",
        "/static/../exports/1/1.qdpx",
    ],
)
def test_no_url_serves_uploads_or_exports(client, users, url_kwargs, path):  # noqa: F811
    """Even with an export on disk and a PI logged in, only the download view hands it out."""
    client.force_login(users["pi"])
    with pytest.raises(Resolver404):
        resolve(path)
    assert client.get(path).status_code == 404


def test_no_url_pattern_serves_files_from_disk():
    from django.views import static

    for name in ROUTES:
        match = resolve(reverse(name, kwargs={param: _dummy(param) for param in ROUTES[name]}))
        assert match.func is not static.serve, name


def _dummy(param):
    return {"batch": "3f1e5a9c-0000-4000-8000-000000000000", "uidb64": "MQ"}.get(param, "1")


def test_uploaded_files_are_read_into_text_and_not_kept(client, users, meeting, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "uploads"
    # Large enough that Django spools it to a temporary file rather than memory.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10
    client.force_login(users["pi"])
    url = reverse("fieldnotes:upload", args=[meeting.project_id, meeting.pk])
    upload = tmp_path / "incoming" / "notes.txt"
    upload.parent.mkdir()
    upload.write_text("09:30 We began with the ward's story.\n")
    with upload.open("rb") as file:
        response = client.post(url, {"files": [file]})
    assert response.status_code == 302
    pending = PendingUpload.objects.get()
    assert (pending.source_name, pending.text) == (
        "notes.txt",
        "09:30 We began with the ward's story.\n",
    )
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "incoming",
        "incoming/notes.txt",
    ]
