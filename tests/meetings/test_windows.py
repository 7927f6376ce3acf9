"""Time windows, codes seen by one observer only, and agreement across observers.

Plain unit tests: no database.
"""

import random
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import krippendorff
import numpy as np
import pytest

from meetings.windows import (
    AlphaResult,
    SeenByOne,
    Window,
    agenda_windows,
    covering_observers,
    observations,
    observer_alpha,
    presence,
    seen_by_one,
    time_windows,
)

LONDON = ZoneInfo("Europe/London")


def day1(hour, minute, second=0):
    return datetime(2026, 3, 10, hour, minute, second, tzinfo=LONDON)


def day2(hour, minute, second=0):
    return datetime(2026, 3, 11, hour, minute, second, tzinfo=LONDON)


# Six windows of ten minutes, 09:30 to 10:30.
WINDOWS = time_windows([(day1(9, 30), day1(10, 30))], 10, tz=LONDON)


# --- Windows -----------------------------------------------------------------------------------


def test_time_windows_tile_a_period_with_a_short_last_window():
    assert time_windows([(day1(9, 30), day1(10, 5))], 10, tz=LONDON) == [
        Window(0, day1(9, 30), day1(9, 40), "09:30–09:40"),
        Window(1, day1(9, 40), day1(9, 50), "09:40–09:50"),
        Window(2, day1(9, 50), day1(10, 0), "09:50–10:00"),
        Window(3, day1(10, 0), day1(10, 5), "10:00–10:05"),
    ]


def test_time_windows_over_two_days_number_the_days():
    periods = [(day2(9, 0), day2(9, 15)), (day1(16, 0), day1(16, 20))]

    assert time_windows(periods, 15, tz=LONDON) == [
        Window(0, day1(16, 0), day1(16, 15), "Day 1 16:00–16:15"),
        Window(1, day1(16, 15), day1(16, 20), "Day 1 16:15–16:20"),
        Window(2, day2(9, 0), day2(9, 15), "Day 2 09:00–09:15"),
    ]


def test_time_windows_label_in_the_zone_given():
    (window,) = time_windows([(day1(9, 30), day1(9, 35))], 5, tz=ZoneInfo("Europe/Paris"))

    assert window.label == "10:30–10:35"
    assert window.start == day1(9, 30)


def test_time_windows_rejects_bad_sizes_and_periods():
    with pytest.raises(ValueError, match="positive whole number"):
        time_windows([(day1(9, 30), day1(10, 30))], 0)
    with pytest.raises(ValueError, match="positive whole number"):
        time_windows([(day1(9, 30), day1(10, 30))], 7.5)
    with pytest.raises(ValueError, match="must end after"):
        time_windows([(day1(10, 30), day1(10, 30))], 5)
    with pytest.raises(ValueError, match="overlap"):
        time_windows([(day1(9, 30), day1(10, 30)), (day1(10, 0), day1(11, 0))], 5)


def test_agenda_windows_one_per_item_labelled_with_its_title():
    agenda = [
        ("Ward stories", day1(10, 45), day1(12, 30)),
        ("Lay panel response", day1(13, 30), day1(15, 0)),
    ]

    assert agenda_windows(agenda) == [
        Window(0, day1(10, 45), day1(12, 30), "Ward stories"),
        Window(1, day1(13, 30), day1(15, 0), "Lay panel response"),
    ]
    with pytest.raises(ValueError, match="must end after"):
        agenda_windows([("Close", day1(12, 0), day1(12, 0))])


# --- Observations and coverage -----------------------------------------------------------------


def test_observations_a_boundary_moment_belongs_to_the_window_starting_there():
    placed = [
        ("amira", "humour", day1(9, 39, 59), "e1"),
        ("amira", "humour", day1(9, 40), "e2"),
        ("amira", "silence", day1(9, 40), "e2"),
        ("ben", "humour", day1(9, 30), "e3"),
        ("ben", "humour", day1(10, 30), "e4"),  # the end of the last window: in none
        ("ben", "humour", day1(9, 29, 59), "e5"),  # before the first: in none
    ]

    assert observations(placed, WINDOWS) == {
        0: {"amira": {"humour": ["e1"]}, "ben": {"humour": ["e3"]}},
        1: {"amira": {"humour": ["e2"], "silence": ["e2"]}},
    }


def test_observations_nested_agenda_windows_both_hold_a_moment():
    windows = agenda_windows(
        [
            ("Day one", day1(9, 0), day1(17, 0)),
            ("Ward stories", day1(10, 45), day1(12, 30)),
            ("Lunch", day1(12, 30), day1(13, 30)),
        ]
    )
    placed = [("amira", "humour", day1(11, 0), "e1"), ("amira", "humour", day1(12, 30), "e2")]

    assert observations(placed, windows) == {
        0: {"amira": {"humour": ["e1", "e2"]}},
        1: {"amira": {"humour": ["e1"]}},
        2: {"amira": {"humour": ["e2"]}},
    }


def test_covering_observers_widens_the_span_to_whole_windows():
    coverage = {
        "amira": (day1(9, 31), day1(10, 15)),  # windows 0 to 4
        "ben": (day1(10, 20), day1(10, 20)),  # a last moment on a boundary: window 5
    }
    seen = {1: {"chloe": {"humour": ["e1"]}}}  # chloe's excerpt covers its window

    assert covering_observers(WINDOWS, coverage, seen) == {
        0: {"amira"},
        1: {"amira", "chloe"},
        2: {"amira"},
        3: {"amira"},
        4: {"amira"},
        5: {"ben"},
    }


# --- The hand-checked example ------------------------------------------------------------------

# Three observers, six windows of ten minutes, one code. Chloe's notes stop at 10:15, so she
# does not cover the last window (10:20–10:30): her value there is missing.
HAND_PLACED = [
    ("amira", "humour", day1(9, 32), "a1"),
    ("amira", "humour", day1(9, 45), "a2"),
    ("amira", "humour", day1(10, 1), "a3"),
    ("ben", "humour", day1(9, 30), "b1"),
    ("ben", "humour", day1(10, 5), "b2"),
    ("chloe", "humour", day1(9, 38), "c1"),
    ("chloe", "humour", day1(9, 40), "c2"),  # on a boundary: window 1
]
HAND_COVERAGE = {
    "amira": (day1(9, 30), day1(10, 29)),
    "ben": (day1(9, 34), day1(10, 22)),
    "chloe": (day1(9, 31), day1(10, 15)),
}


def test_presence_is_none_where_an_observer_does_not_cover_the_window():
    assert presence(HAND_PLACED, WINDOWS, HAND_COVERAGE, "humour") == {
        "amira": [1, 1, 0, 1, 0, 0],
        "ben": [1, 0, 0, 1, 0, 0],
        "chloe": [1, 1, 0, 0, 0, None],
    }


def test_observer_alpha_matches_the_hand_computed_value():
    # Values per window (amira, ben, chloe):
    #   w0 (1,1,1)  w1 (1,0,1)  w2 (0,0,0)  w3 (1,1,0)  w4 (0,0,0)  w5 (0,0,-)
    # A window with m values adds each ordered pair of its values with weight 1/(m-1):
    #   w0: six 1-1 pairs / 2 -> o11 += 3
    #   w1: two 1-1, two 1-0, two 0-1 pairs / 2 -> o11 += 1, o10 += 1, o01 += 1
    #   w2: o00 += 3;  w3: as w1;  w4: o00 += 3
    #   w5: two 0-0 pairs / 1 -> o00 += 2
    # Coincidence matrix        0    1   | n_c
    #                     0     8    2   | 10
    #                     1     2    5   |  7      n = 17
    # alpha = 1 - (n - 1) (o01 + o10) / (n0 n1 + n1 n0) = 1 - 16 * 4 / 140 = 1 - 16/35 = 19/35
    result = observer_alpha(HAND_PLACED, WINDOWS, HAND_COVERAGE, ["humour"])

    assert result == {"humour": AlphaResult(pytest.approx(19 / 35, abs=1e-12), 6, None)}
    assert Fraction(result["humour"].alpha).limit_denominator(1000) == Fraction(19, 35)
    data = np.array([[1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 0, 0], [1, 1, 0, 0, 0, np.nan]])
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert theirs == pytest.approx(19 / 35, abs=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_observer_alpha_matches_the_krippendorff_package(seed):
    rng = random.Random(seed)
    windows = time_windows([(day1(9, 30), day1(11, 30))], 10, tz=LONDON)  # twelve windows
    observers = [f"observer{i}" for i in range(rng.randint(3, 5))]
    coverage, placed = {}, []
    for observer in observers:
        first = day1(9, 30) + timedelta(minutes=rng.randint(0, 40))
        last = day1(11, 29) - timedelta(minutes=rng.randint(0, 40))
        coverage[observer] = (first, last)
        for number in range(rng.randint(4, 14)):
            moment = first + (last - first) * rng.random()
            placed.append((observer, rng.choice("ab"), moment, f"{observer}-{number}"))

    ours = observer_alpha(placed, windows, coverage, ["a", "b"])

    for code in ("a", "b"):
        rows = presence(placed, windows, coverage, code)
        data = np.array(
            [[np.nan if value is None else value for value in row] for row in rows.values()]
        )
        theirs = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert ours[code].alpha == pytest.approx(theirs, abs=1e-9)
        assert ours[code].units == sum(
            1 for unit in data.T if np.count_nonzero(~np.isnan(unit)) >= 2
        )


def test_observer_alpha_says_why_it_is_undefined():
    # Without their spans, ben and chloe cover only the windows their excerpts are in (0, 1 and
    # 3), where they all carry the code, as amira does.
    alone = observer_alpha(HAND_PLACED, WINDOWS, {"amira": HAND_COVERAGE["amira"]}, ["humour"])
    assert alone == {"humour": AlphaResult(None, 3, "no variation: the code is present everywhere")}

    one_observer = [item for item in HAND_PLACED if item[0] == "amira"]
    assert observer_alpha(one_observer, WINDOWS, {"amira": HAND_COVERAGE["amira"]}, ["x"]) == {
        "x": AlphaResult(None, 0, "fewer than two observers cover any window")
    }
    apart = {"amira": (day1(9, 30), day1(9, 35)), "ben": (day1(10, 20), day1(10, 25))}
    assert observer_alpha([], WINDOWS, apart, ["humour"]) == {
        "humour": AlphaResult(None, 0, "fewer than two observers cover any window")
    }
    assert observer_alpha(HAND_PLACED, WINDOWS, HAND_COVERAGE, ["silence"]) == {
        "silence": AlphaResult(None, 6, "no variation: the code is absent everywhere")
    }
    everywhere = [
        (observer, "chair", WINDOWS[i].start + timedelta(minutes=1), f"{observer}{i}")
        for observer in ("amira", "ben")
        for i in range(6)
    ]
    both = {"amira": HAND_COVERAGE["amira"], "ben": HAND_COVERAGE["ben"]}
    assert observer_alpha(everywhere, WINDOWS, both, ["chair"]) == {
        "chair": AlphaResult(None, 6, "no variation: the code is present everywhere")
    }


# --- Seen by one observer only -----------------------------------------------------------------


def test_seen_by_one_lists_codes_only_one_observer_carries_where_another_covers():
    coverage = {
        "amira": (day1(9, 30), day1(10, 29)),  # windows 0-5
        "ben": (day1(9, 30), day1(10, 10)),  # windows 0-4
        "chloe": (day1(9, 45), day1(10, 5)),  # windows 1-3
    }
    placed = [
        ("amira", "silence", day1(9, 50), "a1"),
        ("amira", "humour", day1(9, 52), "a2"),
        ("amira", "anger", day1(9, 58), "a5"),
        ("amira", "silence", day1(9, 59), "a6"),
        ("ben", "humour", day1(9, 51), "b1"),  # humour in window 2: two observers
        ("ben", "pause", day1(10, 0), "b2"),
        ("chloe", "pause", day1(10, 2), "c1"),  # pause in window 3: two observers
        ("chloe", "laughter", day1(10, 4), "c2"),
        ("amira", "silence", day1(10, 25), "a4"),  # window 5: nobody else covers it
    ]

    assert seen_by_one(placed, WINDOWS, coverage) == [
        SeenByOne(WINDOWS[2], "anger", "amira", ("a5",)),
        SeenByOne(WINDOWS[2], "silence", "amira", ("a1", "a6")),
        SeenByOne(WINDOWS[3], "laughter", "chloe", ("c2",)),
    ]


def test_seen_by_one_counts_an_observer_whose_excerpt_is_outside_their_span_as_covering():
    coverage = {"amira": (day1(9, 30), day1(10, 29)), "ben": (day1(9, 30), day1(9, 35))}
    placed = [
        ("amira", "silence", day1(10, 25), "a1"),
        ("ben", "humour", day1(10, 26), "b1"),  # placed by its agenda heading, say
    ]

    assert seen_by_one(placed, WINDOWS, coverage) == [
        SeenByOne(WINDOWS[5], "humour", "ben", ("b1",)),
        SeenByOne(WINDOWS[5], "silence", "amira", ("a1",)),
    ]


def test_seen_by_one_with_agenda_windows():
    windows = agenda_windows(
        [
            ("Ward stories", day1(10, 45), day1(12, 30)),
            ("Lay panel response", day1(13, 30), day1(15, 0)),
        ]
    )
    coverage = {"amira": (day1(10, 45), day1(15, 0)), "ben": (day1(11, 0), day1(14, 0))}
    placed = [
        ("amira", "humour", day1(13, 40), "a1"),
        ("ben", "humour", day1(12, 40), "b1"),  # in the lunch break: in no window
    ]

    assert seen_by_one(placed, windows, coverage) == [
        SeenByOne(windows[1], "humour", "amira", ("a1",))
    ]


# --- Size --------------------------------------------------------------------------------------


def test_a_two_day_meeting_at_five_minutes_is_quick():
    periods = [(day1(9, 30), day1(16, 30)), (day2(9, 0), day2(12, 30))]
    windows = time_windows(periods, 5, tz=LONDON)
    rng = random.Random(8)
    observers = [f"observer{i}" for i in range(6)]
    codes = [f"code{i}" for i in range(30)]
    coverage = {observer: (day1(9, 30), day2(12, 29)) for observer in observers}
    starts = [window.start for window in windows]
    placed = [
        (
            rng.choice(observers),
            rng.choice(codes),
            (rng.choice(starts) + timedelta(seconds=rng.randint(0, 299))).astimezone(UTC),
            number,
        )
        for number in range(2_000)
    ]

    timings = []
    for _ in range(2):  # the better of two runs, so that a busy machine does not fail the test
        started = time.perf_counter()
        found = seen_by_one(placed, windows, coverage)
        alphas = observer_alpha(placed, windows, coverage, codes)
        timings.append(time.perf_counter() - started)

    assert len(windows) == 126
    assert min(timings) < 0.1
    assert found
    assert all(result.units == 126 for result in alphas.values())
