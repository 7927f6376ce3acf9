"""Shared settings for the hostile-input tests.

The profile is registered here and given to each test as the parent of its own `settings`, not
loaded as the default: loading it would change every other hypothesis test collected after this
directory. It is derandomized so that CI runs the same inputs every time and a failure can be
repeated; set HOSTILE_RANDOM=1 to explore new inputs locally, and HOSTILE_SCALE=10 to try ten
times as many.
"""

import os
import re

from hypothesis import HealthCheck, settings

settings.register_profile(
    "hostile",
    derandomize=not os.environ.get("HOSTILE_RANDOM"),
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
HOSTILE = settings.get_profile("hostile")


def hostile(max_examples: int) -> settings:
    """The hostile profile with this many examples (times HOSTILE_SCALE)."""
    return settings(HOSTILE, max_examples=max_examples * int(os.environ.get("HOSTILE_SCALE", 1)))


def assert_sentence(message: str, where: object = "") -> None:
    """A clear message: a sentence ending with a full stop, not a bare exception name, repr or
    traceback. It may begin with a file name ("project.qde is empty.")."""
    assert message and message == message.strip(), f"{message!r} for {where!r}"
    assert not re.match(r"\w*(Error|Exception)\b|<|\[|\(|\{", message), f"{message!r} for {where!r}"
    assert message.rstrip().endswith((".", "?", ")", "”")), f"{message!r} for {where!r}"
    assert "Traceback" not in message, f"{message!r} for {where!r}"
