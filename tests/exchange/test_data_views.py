import csv
import hashlib
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from coding.models import CodingRound
from exchange.api import create_token
from exchange.models import ApiToken
from tests.factories import ExcerptFactory, MembershipFactory, UserFactory

from .tidy_study import HEADER, build_study, expected_rows


@pytest.fixture
def study(project, users, meeting):
    return build_study(project, users, meeting)


def _rows(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


@pytest.mark.parametrize(
    ("role", "status"),
    [("pi", 200), ("coder", 200), ("observer", 403), ("lay", 403), ("outsider", 404)],
)
def test_data_page_access(login, project, users, role, status):
    response = login(users[role]).get(reverse("data:home", args=[project.pk]))
    assert response.status_code == status


def test_data_page_offers_filters_and_downloads(login, study, project, users):
    response = login(users["coder"]).get(reverse("data:home", args=[project.pk]))
    page = response.content.decode()
    assert f'formaction="/projects/{project.pk}/data/matrix.csv"' in page
    assert f'<input type="checkbox" name="code" value="{study.validation.pk}">' in page
    # The folder cannot be coded, so it is no filter; the coder's own excerpts give their name.
    assert f'name="code" value="{study.folder.pk}"' not in page
    assert "the-coder" in page
    assert "No tokens yet." in page


def test_excerpts_csv_download(login, study, project, users):
    response = login(users["pi"]).get(reverse("data:excerpts_csv", args=[project.pk]))
    day = timezone.localdate().isoformat()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="ward-study-excerpts-{day}.csv"'
    )
    assert not response.content.startswith(b"\xef\xbb\xbf")
    assert _rows(response) == [HEADER, *expected_rows(study)]


def test_downloads_keep_the_filters(login, study, project, users):
    client = login(users["pi"])
    url = reverse("data:excerpts_csv", args=[project.pk])
    rows = _rows(client.get(url, {"fieldnote": study.bea.pk, "code": study.protest.pk}))
    assert [row[11:15] for row in rows[1:]] == [
        ["21", "28", "2026-03-10T09:30:00+00:00", "=SUM(1)"]
    ]


def test_matrix_csv_download(login, study, project, users):
    response = login(users["pi"]).get(
        reverse("data:matrix_csv", args=[project.pk]), {"measure": "characters"}
    )
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="ward-study-matrix-characters-{day}.csv"'
    )
    assert _rows(response)[1] == ["Learning event", "Ann's notes", "Ann", "44", "56"]


def test_workbook_download(login, study, project, users):
    response = login(users["coder"]).get(
        reverse("data:workbook", args=[project.pk]), {"coder": users["coder"].pk}
    )
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="ward-study-data-{day}.xlsx"'
    book = load_workbook(io.BytesIO(response.content))
    assert book["Excerpts"].max_row == 5  # the header and the coder's four rows
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True) if row}
    assert about["Exported by"].endswith("(the-coder)")
    assert about["Filters"] == "Coders: the-coder"


def test_blind_coder_download_misses_others(login, study, project, users):
    other = UserFactory(username="other-coder")
    MembershipFactory(project=project, user=other, role="coder")
    hidden = ExcerptFactory(fieldnote=study.ann, coder=other, start=0, end=5)
    hidden.excerpt_codes.create(code=study.protest)
    coding_round = CodingRound.objects.create(project=project, name="Pilot", blind=True)
    coding_round.fieldnotes.add(study.ann)
    coding_round.coders.add(users["coder"], other)
    rows = _rows(login(users["coder"]).get(reverse("data:excerpts_csv", args=[project.pk])))
    assert {row[10] for row in rows[1:]} == {
        str(study.quote.guid),
        str(study.sat.guid),
        str(study.formula.guid),
    }


# Tokens


def test_token_creation_shows_it_once_and_stores_the_hash(login, project, users):
    client = login(users["coder"])
    response = client.post(
        reverse("data:token_create", args=[project.pk]), {"label": " R scripts ", "expires": "30"}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    page = response.content.decode()
    raw = page.split('id="new-token" value="', 1)[1].split('"', 1)[0]
    assert len(raw) == 43  # 32 bytes, url-safe base64
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert (token.prefix, token.label, token.user) == (raw[:8], "R scripts", users["coder"])
    assert token.expires_at.date() == (timezone.now() + timezone.timedelta(days=30)).date()
    assert page.count(raw) == 1
    assert response["Cache-Control"] == "no-store"
    again = client.get(reverse("data:home", args=[project.pk])).content.decode()
    assert raw not in again
    assert f"<code>{raw[:8]}…</code>" in again


def test_token_without_label_is_refused(login, project, users):
    response = login(users["pi"]).post(
        reverse("data:token_create", args=[project.pk]), {"label": "  "}
    )
    assert response.status_code == 400
    assert "Give the token a label" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_token_creation_under_htmx_answers_with_the_fragment(login, project, users):
    response = login(users["pi"]).post(
        reverse("data:token_create", args=[project.pk]),
        {"label": "pandas"},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="tokens"')
    assert "<html" not in page
    assert 'id="new-token"' in page


def test_coder_sees_and_revokes_only_their_own_tokens(login, project, users):
    pi_token, _ = create_token(project=project, user=users["pi"], label="PI's")
    own, _ = create_token(project=project, user=users["coder"], label="Mine")
    client = login(users["coder"])
    page = client.get(reverse("data:home", args=[project.pk])).content.decode()
    assert "Mine" in page and "PI&#x27;s" not in page
    response = client.post(reverse("data:token_revoke", args=[project.pk, pi_token.pk]))
    assert response.status_code == 404
    pi_token.refresh_from_db()
    assert pi_token.revoked_at is None
    response = client.post(reverse("data:token_revoke", args=[project.pk, own.pk]))
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.revoked_at is not None


def test_pi_revokes_anyones_token_under_htmx(login, project, users):
    token, _ = create_token(project=project, user=users["coder"], label="Coder's")
    response = login(users["pi"]).post(
        reverse("data:token_revoke", args=[project.pk, token.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        f"Revoked the token “Coder&#x27;s” ({token.prefix}…): it no longer opens the API." in page
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    # Revoking twice changes nothing and says so.
    response = login(users["pi"]).post(
        reverse("data:token_revoke", args=[project.pk, token.pk]), headers={"HX-Request": "true"}
    )
    assert "was already revoked" in response.content.decode()


def test_observer_cannot_make_tokens(login, project, users):
    response = login(users["observer"]).post(
        reverse("data:token_create", args=[project.pk]), {"label": "mine"}
    )
    assert response.status_code == 403
    assert not ApiToken.objects.exists()
