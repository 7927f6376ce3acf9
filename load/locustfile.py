"""Fifty coders working on the demo study at once, for locust (`bin/load-test` runs it).

Each simulated person logs in once through the real login form and then works as a coder does:
reads fieldnotes on the coding page most of the time, codes often (a new excerpt posted exactly as
static/js/coding.js posts it, with the page's CSRF token and view), now and then opens one of
their own excerpts and deletes it, searches, retrieves a code's excerpts, and less often looks at
the rounds and the observers' comparison. One account in ten is a PI, who opens the agreement
reports instead (coders may not: `run_reports`). Think time is one to three seconds.

The study's ids and the accounts come from the JSON file named by TRIANGULATE_LOAD_PLAN, which
`bin/load-test` writes after seeding the database. Request names are endpoints, not addresses.
Every request's time and outcome, and every error, are written at the end to the file named by
TRIANGULATE_LOAD_RECORD, from which `bin/load-test` computes exact percentiles (locust's own
are rounded to two figures). With TRIANGULATE_LOAD_SECONDS set, the run stops that many seconds
after the last coder has logged in, so that the measured work does not shrink by however long
fifty log-ins (a deliberately slow password hash each) take on a busy machine.
"""

import html
import itertools
import json
import os
import random
import re
import time
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

PLAN_VARIABLE = "TRIANGULATE_LOAD_PLAN"
RECORD_VARIABLE = "TRIANGULATE_LOAD_RECORD"
# Seconds of work to measure once every coder has logged in; then the run stops.
SECONDS_VARIABLE = "TRIANGULATE_LOAD_SECONDS"
FORM = "application/x-www-form-urlencoded"

# Request name → address template; tests/test_load_script.py resolves each against the URLconf.
PATHS = {
    "login": "/accounts/login/",
    "project home": "/projects/{project}/",
    "coding page": "/projects/{project}/fieldnotes/{fieldnote}/code/",
    "codes.css": "/projects/{project}/codebook/codes.css",
    "new excerpt": "/projects/{project}/fieldnotes/{fieldnote}/excerpts/",
    "excerpt panel": "/projects/{project}/excerpts/{excerpt}/",
    "delete excerpt": "/projects/{project}/excerpts/{excerpt}/delete/",
    "search": "/projects/{project}/search/",
    "retrieval": "/projects/{project}/codes/{code}/excerpts/",
    "rounds": "/projects/{project}/rounds/",
    "comparison": "/projects/{project}/meetings/{meeting}/compare/",
    "reports": "/projects/{project}/reports/",
    "report": "/projects/{project}/reports/{report}/",
}

# Words and phrases that occur in the demo fieldnotes, as people would type them.
SEARCHES = [
    "evidence",
    "lay panel",
    "ward",
    "terms of collaboration",
    "protest",
    "Helen",
    "agenda",
    "tea",
    "sense making",
    "what would count",
]

CSRF_IN_PAGE = re.compile(r'"X-CSRFToken": "([^"]+)"')
CSRF_IN_FORM = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VIEW_IN_PAGE = re.compile(r'data-view="([^"]*)"')
REVISION_IN_PANEL = re.compile(r'data-revision="(\d+)"')

_plan = None
_accounts = None


def plan() -> dict:
    """The study and accounts `bin/load-test` prepared, read once per locust process."""
    global _plan, _accounts
    if _plan is None:
        path = os.environ.get(PLAN_VARIABLE)
        if not path:
            raise RuntimeError(f"Set {PLAN_VARIABLE} to the plan file bin/load-test writes.")
        with open(path, encoding="utf-8") as file:
            _plan = json.load(file)
        _accounts = itertools.cycle(_plan["accounts"])
    return _plan


def next_account() -> dict:
    plan()
    return next(_accounts)


_record = []
_logged_in = {"count": 0, "all_at": None}


@events.request.add_listener
def remember_request(request_type, name, response_time, exception, start_time, **kwargs):
    error = None if exception is None else str(exception)
    _record.append([f"{request_type} {name}", response_time, error, start_time])


@events.quitting.add_listener
def write_record(environment, **kwargs):
    path = os.environ.get(RECORD_VARIABLE)
    if not path:
        return
    exceptions = [
        {"count": row["count"], "message": row["msg"], "traceback": row["traceback"]}
        for row in environment.runner.exceptions.values()
    ]
    with open(path, "w", encoding="utf-8") as file:
        record = {
            "requests": _record,
            "exceptions": exceptions,
            "all_logged_in_at": _logged_in["all_at"],
        }
        json.dump(record, file)


class LoopbackCookiePolicy(DefaultCookiePolicy):
    """Send the session and CSRF cookies, which production marks Secure, over plain HTTP to
    loopback, as a browser would behind the TLS proxy the load test leaves out."""

    def return_ok_secure(self, cookie, request):
        return True


def excerpt_span(length: int, rng: random.Random) -> tuple[int, int]:
    """A random passage of 30 to 300 characters, so that no two excerpts need be the same."""
    size = rng.randint(30, min(300, length))
    start = rng.randint(0, length - size)
    return start, start + size


class Coder(FastHttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        self.client.cookiejar.set_policy(LoopbackCookiePolicy())
        self.rng = random.Random()
        self.study = plan()
        self.account = next_account()
        self.is_pi = self.account["role"] == "pi"
        self.csrf = ""
        self.fieldnote = None
        self.view = ""
        self.own_excerpts = []
        self.log_in()

    def path(self, name: str, **ids) -> str:
        return PATHS[name].format(project=self.study["project"], **ids)

    def get(self, name: str, params=None, **ids):
        with self.client.get(
            self.path(name, **ids), params=params, name=name, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{name} answered {response.status_code}")
            return response

    def post(self, name: str, fields, **ids):
        with self.client.post(
            self.path(name, **ids),
            data=urlencode(fields),
            headers={
                "X-CSRFToken": self.csrf,
                "Accept": "application/json",
                "Content-Type": FORM,
            },
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(
                    f"{name} answered {response.status_code}: {(response.text or '')[:200]}"
                )
                return {}
            try:
                return response.json()
            except ValueError:
                response.failure(f"{name} answered with something other than JSON.")
                return {}

    def log_in(self):
        page = self.client.get(PATHS["login"], name="login page")
        token = CSRF_IN_FORM.search(page.text)
        if token is None:
            raise StopUser()
        with self.client.post(
            PATHS["login"],
            data=urlencode(
                {
                    "csrfmiddlewaretoken": token.group(1),
                    "username": self.account["username"],
                    "password": self.account["password"],
                    "next": self.path("project home"),
                }
            ),
            headers={"Content-Type": FORM},
            name="log in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            refused = response.status_code != 302
            if refused:
                response.failure(
                    f"Log-in of {self.account['username']} answered {response.status_code}."
                )
        if refused:
            raise StopUser()
        home = self.get("project home")
        self.remember_csrf(home.text)
        _logged_in["count"] += 1
        runner = self.environment.runner
        if _logged_in["count"] == runner.target_user_count:
            _logged_in["all_at"] = time.time()
            if os.environ.get(SECONDS_VARIABLE):
                gevent.spawn_later(float(os.environ[SECONDS_VARIABLE]), runner.quit)

    def remember_csrf(self, page: str):
        found = CSRF_IN_PAGE.search(page)
        if found:
            self.csrf = found.group(1)

    @task(10)
    def read_fieldnote(self):
        self.fieldnote = self.rng.choice(self.study["fieldnotes"])
        page = self.get("coding page", fieldnote=self.fieldnote["id"])
        self.get("codes.css")
        self.remember_csrf(page.text)
        found = VIEW_IN_PAGE.search(page.text)
        self.view = html.unescape(found.group(1)) if found else ""

    def view_fields(self) -> list[tuple[str, str]]:
        """The page's view (whose coding it shows) that coding.js adds to every post."""
        return [tuple(part.split("=", 1)) for part in self.view.split("&") if "=" in part]

    @task(5)
    def code_passage(self):
        if self.fieldnote is None:
            self.read_fieldnote()
        start, end = excerpt_span(self.fieldnote["length"], self.rng)
        codes = self.rng.sample(self.study["codes"], self.rng.choice((1, 1, 2)))
        fields = [("start", start), ("end", end), *(("codes", code) for code in codes)]
        answer = self.post(
            "new excerpt", [*fields, *self.view_fields()], fieldnote=self.fieldnote["id"]
        )
        if "excerpt" in answer:
            self.own_excerpts.append(answer["excerpt"])

    @task(1)
    def delete_own_excerpt(self):
        if not self.own_excerpts:
            return
        excerpt = self.own_excerpts.pop(self.rng.randrange(len(self.own_excerpts)))
        panel = self.get("excerpt panel", excerpt=excerpt)
        revision = REVISION_IN_PANEL.search(panel.text)
        fields = [("revision", revision.group(1) if revision else "")]
        self.post("delete excerpt", [*fields, *self.view_fields()], excerpt=excerpt)

    @task(2)
    def search(self):
        self.get("search", params={"q": self.rng.choice(SEARCHES)})

    @task(2)
    def retrieve_code(self):
        self.get("retrieval", code=self.rng.choice(self.study["codes"]))

    @task(1)
    def look_at_agreement(self):
        if self.is_pi:
            self.get("reports")
            self.get("report", report=self.rng.choice(self.study["reports"]))
        else:
            self.get("rounds")
            self.get("comparison", meeting=self.study["meeting"])
