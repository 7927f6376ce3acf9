"""The load test's pieces, without any load: the locustfile's tasks and addresses, bin/load-test's
options, refusals and verdict, and the query the load test found the coding page wasting."""

import importlib.machinery
import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.urls import resolve

from tests.factories import CodeFactory, ProjectFactory

ROOT = settings.BASE_DIR
SCRIPT = ROOT / "bin" / "load-test"

# What a session does, as weights: reading most, coding often, searching and reports less.
TASK_WEIGHTS = {
    "read_fieldnote": 10,
    "code_passage": 5,
    "search": 2,
    "retrieve_code": 2,
    "delete_own_excerpt": 1,
    "look_at_agreement": 1,
}
ENDPOINTS = {
    "login": "login",
    "project home": "projects:home",
    "coding page": "coding:coding_page",
    "codes.css": "coding:code_styles",
    "new excerpt": "coding:excerpt_create",
    "excerpt panel": "coding:excerpt",
    "delete excerpt": "coding:excerpt_delete",
    "search": "search:search",
    "retrieval": "analysis:retrieval",
    "rounds": "rounds:list",
    "comparison": "meetings:compare",
    "reports": "reports:list",
    "report": "reports:detail",
}


def _run(*args, **kwargs):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, **kwargs
    )


@pytest.fixture(scope="module")
def locustfile():
    """The locustfile read in its own process: importing locust patches the standard library
    for gevent, which this test process must not have."""
    if importlib.util.find_spec("locust") is None:
        pytest.skip("locust is not installed (pip install -e '.[load]')")
    probe = textwrap.dedent(
        """
        import collections, json, random, sys
        sys.path.insert(0, "load")
        import locustfile as f
        rng = random.Random(1)
        print(json.dumps({
            "tasks": collections.Counter(t.__name__ for t in f.Coder.tasks),
            "paths": f.PATHS,
            "wait": [f.Coder.wait_time(None) for _ in range(200)],
            "spans": [f.excerpt_span(400, rng) for _ in range(500)],
        }))
        """
    )
    answer = _run("-c", probe)
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout.splitlines()[-1])


def test_locustfile_weights_tasks_like_a_session(locustfile):
    assert locustfile["tasks"] == TASK_WEIGHTS


def test_locustfile_addresses_are_the_endpoints_it_names(locustfile):
    assert set(locustfile["paths"]) == set(ENDPOINTS)
    for name, template in locustfile["paths"].items():
        path = template.format(project=1, fieldnote=2, excerpt=3, code=4, meeting=5, report=6)
        assert resolve(path).view_name == ENDPOINTS[name], name


def test_locustfile_thinks_one_to_three_seconds(locustfile):
    assert all(1 <= wait <= 3 for wait in locustfile["wait"])


def test_locustfile_spans_lie_inside_the_text_and_vary(locustfile):
    spans = [tuple(span) for span in locustfile["spans"]]
    assert all(0 <= start < end <= 400 and 30 <= end - start <= 300 for start, end in spans)
    assert len(set(spans)) > 450


def test_load_test_help_names_its_options():
    answer = _run(str(SCRIPT), "--help")
    assert answer.returncode == 0, answer.stderr
    for option in ("--database-url", "--redis-url", "--users", "--spawn-rate", "--run-time"):
        assert option in answer.stdout
    for option in ("--workers", "--worker-class", "--threads", "--p95-target"):
        assert option in answer.stdout


def test_load_test_refuses_to_drop_a_database_not_named_for_load():
    answer = _run(str(SCRIPT), "--database-url", "postgres://postgres@127.0.0.1:5432/triangulate")
    assert answer.returncode == 1
    assert answer.stderr.strip() == (
        "Refusing to drop the database 'triangulate': the load test recreates its database, so "
        "its name must contain 'load'."
    )


def test_load_test_refuses_more_users_than_accounts():
    answer = _run(str(SCRIPT), "--users", "51")
    assert answer.returncode == 2
    assert "There are 50 accounts; --users can be at most 50." in answer.stderr


@pytest.fixture(scope="module")
def script():
    loader = importlib.machinery.SourceFileLoader("load_test_script", str(SCRIPT))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def _record(times, *, errors=0, logged_in_at=100.0):
    """Two log-ins before `logged_in_at`, then one work request a second with the given times."""
    rows = [["GET login page", 5000, None, 90.0], ["POST log in", 9000, None, 91.0]]
    for second, time in enumerate(times):
        error = "boom" if second < errors else None
        rows.append(["GET coding page", time, error, logged_in_at + second])
    return {"requests": rows, "exceptions": [], "all_logged_in_at": logged_in_at}


def test_summary_passes_on_the_work_and_leaves_log_ins_out(script, capsys):
    outcome = script.summarise(_record(range(1, 101)), target=250)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert outcome == 0
    assert last == (
        "PASS: at work p50 50 ms, p95 95 ms (target 250 ms), p99 99 ms, 1.0 requests per second; "
        "0 errors in the whole run."
    )


def test_summary_fails_on_one_error(script, capsys):
    outcome = script.summarise(_record(range(1, 101), errors=1), target=250)
    output = capsys.readouterr().out
    assert outcome == 1
    assert "error x1: GET coding page: boom" in output
    assert output.strip().splitlines()[-1].endswith("1 error in the whole run.")


def test_summary_fails_when_p95_misses_the_target(script, capsys):
    outcome = script.summarise(_record([100] * 94 + [300] * 6), target=250)
    assert outcome == 1
    assert (
        capsys.readouterr()
        .out.strip()
        .splitlines()[-1]
        .startswith("FAIL: at work p50 100 ms, p95 300 ms (target 250 ms)")
    )


def test_run_time_reads_seconds_and_minutes(script):
    assert [script.seconds(text) for text in ("60s", "5m", "90")] == [60, 300, 90]


@pytest.mark.django_db
def test_code_paths_from_the_tree_need_no_queries(django_assert_num_queries):
    """The coding page lists every code by its path; the load test found one query per
    ancestor."""
    codebook = ProjectFactory().codebook
    parent = CodeFactory(codebook=codebook, name="Meeting as")
    child = CodeFactory(codebook=codebook, name="protest", parent=parent)
    CodeFactory(codebook=codebook, name="resolution", parent=child)
    tree = codebook.tree()
    with django_assert_num_queries(0):
        paths = [code.path for code in tree]
    assert paths == ["Meeting as", "Meeting as/protest", "Meeting as/protest/resolution"]
