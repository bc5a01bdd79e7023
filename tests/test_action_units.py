"""AU cells as the coding sheets spell them (shared/DATASETS.md, DATASETS-MORE.md): each spelling
parsed into numbers, sides, intensities, uncertainty and static marks; meb's rule reproduced."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mer_fast.data.action_units import (
    MEB_AUS,
    ActionUnits,
    au_list,
    meb_rule,
    parse_action_units,
)
from mer_fast.errors import ConfigError

# (cell, [(number, side, intensity, uncertain, static), ...]); every spelling the two files quote
TABLE = [
    # CASME II
    ("4+7", [(4, None, None, False, False), (7, None, None, False, False)]),
    ("L12", [(12, "L", None, False, False)]),
    ("R4+R10", [(4, "R", None, False, False), (10, "R", None, False, False)]),
    # SAMM
    (
        "(R6 or R12)+R15",
        [(6, "R", None, True, False), (12, "R", None, True, False), (15, "R", None, False, False)],
    ),
    ("10A/B", [(10, None, "A/B", False, False)]),
    ("12+15 ", [(12, None, None, False, False), (15, None, None, False, False)]),
    ("R12 + R15", [(12, "R", None, False, False), (15, "R", None, False, False)]),
    ("R14A", [(14, "R", "A", False, False)]),
    # CAS(ME)^2
    ("14or23", [(14, None, None, True, False), (23, None, None, True, False)]),
    ("10or11", [(10, None, None, True, False), (11, None, None, True, False)]),
    (
        "4,24,6+12+15",
        [
            (4, None, None, False, False),
            (24, None, None, False, False),
            (6, None, None, False, False),
            (12, None, None, False, False),
            (15, None, None, False, False),
        ],
    ),
    ("L1+L2", [(1, "L", None, False, False), (2, "L", None, False, False)]),
    ("R2+5", [(2, "R", None, False, False), (5, None, None, False, False)]),
    ("4+L7", [(4, None, None, False, False), (7, "L", None, False, False)]),
    # CASME
    ("4", [(4, None, None, False, False)]),
    ("4+17", [(4, None, None, False, False), (17, None, None, False, False)]),
    # 4DME
    ("AU4(k)+L7", [(4, None, None, False, True), (7, "L", None, False, False)]),
    (
        "AUR2+12(k)+45",
        [
            (2, "R", None, False, False),
            (12, None, None, False, True),
            (45, None, None, False, False),
        ],
    ),
    # meb's examples, CAS(ME)^3 Part C's full-width comma, uncertain marks
    ("4B", [(4, None, "B", False, False)]),
    ("AU12R", [(12, "R", None, False, False)]),
    ("4\uff0c7", [(4, None, None, False, False), (7, None, None, False, False)]),
    ("12?", [(12, None, None, True, False)]),
    ("10/11", [(10, None, None, True, False), (11, None, None, True, False)]),
    (12.0, [(12, None, None, False, False)]),
    (4, [(4, None, None, False, False)]),
]


@pytest.mark.parametrize(("cell", "expected"), TABLE, ids=[repr(c) for c, _ in TABLE])
def test_every_spelling_parses(cell, expected):
    aus = parse_action_units(cell)
    assert aus.ok, aus.unparsed
    assert not aus.unknown
    got = [(u.number, u.side, u.intensity, u.uncertain, u.static) for u in aus.units]
    assert got == expected
    assert aus.raw == str(cell)


@pytest.mark.parametrize("cell", ["?", "NULL", "null", "", None, "/", " "])
def test_cells_that_give_no_code(cell):
    aus = parse_action_units(cell)
    assert aus.unknown and aus.units == () and aus.ok
    assert aus.numbers() == frozenset()


# SAMM's own spellings (its sheet's key: "/" = or, "A2" = asymmetric), read off its v2 sheet
SAMM_SPELLINGS = [
    # cell, [(number, side, asymmetric, region, static, uncertain)]
    ("A12+A7", [(12, None, True, None, False, False), (7, None, True, None, False, False)]),
    ("A9E+ref(10)", [(9, None, True, None, False, False), (10, None, False, None, True, False)]),
    ("ref(L10)+A12B", [(10, "L", False, None, True, False), (12, None, True, None, False, False)]),
    ("7B+ ref(43)", [(7, None, False, None, False, False), (43, None, False, None, True, False)]),
    (
        "4+13+T18+39",
        [
            (4, None, False, None, False, False),
            (13, None, False, None, False, False),
            (18, None, False, "T", False, False),
            (39, None, False, None, False, False),
        ],
    ),
    ("B18+25", [(18, None, False, "B", False, False), (25, None, False, None, False, False)]),
    ("A/L12", [(12, None, True, None, False, True), (12, "L", False, None, False, True)]),
]


@pytest.mark.parametrize(("cell", "expected"), SAMM_SPELLINGS, ids=[c for c, _ in SAMM_SPELLINGS])
def test_samm_spellings(cell, expected):
    aus = parse_action_units(cell)
    assert aus.ok, aus.unparsed
    got = [(u.number, u.side, u.asymmetric, u.region, u.static, u.uncertain) for u in aus.units]
    assert got == expected


def test_samm_note_text_is_kept_apart():
    aus = parse_action_units("R14+17+soft focus")
    assert aus.numbers() == {14, 17} and aus.unparsed == ("soft focus",)


def test_alternatives_share_a_group_and_groups_differ():
    aus = parse_action_units("14or23+(R6 or R12)+4")
    alts = [u.alternative for u in aus.units]
    assert alts[0] == alts[1] and alts[2] == alts[3] and alts[0] != alts[2]
    assert alts[4] is None
    assert aus.numbers(uncertain=False) == {4}
    assert aus.numbers() == {4, 6, 12, 14, 23}


# meb's literal rule agrees wherever the cell has no alternatives (meb rewrites those by hand)
MEB_COMPARABLE = [
    "4+7",
    "L12",
    "R4+R10",
    "10A/B",
    "12+15 ",
    "R12 + R15",
    "R14A",
    "L1+L2",
    "R2+5",
    "4+L7",
    "4",
    "4+17",
    "AU4(k)+L7",
    "AUR2+12(k)+45",
    "4B",
    "AU12R",
]


@pytest.mark.parametrize("cell", MEB_COMPARABLE)
@pytest.mark.parametrize("ignore_ks", [False, True])
def test_meb_rule_reproduced(cell, ignore_ks):
    aus = parse_action_units(cell)
    assert aus.numbers(static=ignore_ks) == meb_rule(cell, ignore_ks=ignore_ks)


def test_static_codes_left_out_by_default():
    aus = parse_action_units("AU4(k)+L7")
    assert aus.numbers() == {7}
    assert aus.numbers(static=True) == {4, 7}
    assert aus.vector(MEB_AUS) == [int(a == 7) for a in MEB_AUS]


def test_sides_of_one_au():
    aus = parse_action_units("L12+R12+4")
    assert aus.sides(12) == {"L", "R"}
    assert aus.sides(4) == {None}


def test_text_that_is_not_a_code_is_kept_not_raised():
    aus = parse_action_units("12+smile+M57x")
    assert not aus.ok
    assert aus.unparsed == ("smile", "M57x")
    assert aus.numbers() == {12}


def test_round_trip_through_json():
    aus = parse_action_units("(R6 or R12)+AU4(k)+10A/B")
    assert ActionUnits.from_dict(aus.to_dict()) == aus


def test_au_list_from_users():
    assert au_list("1,2,4") == (1, 2, 4)
    assert au_list("AU1+AU12") == (1, 12)
    assert au_list([4, 7]) == (4, 7)
    for bad in ("", "1,x", "1,1"):
        with pytest.raises(ConfigError):
            au_list(bad)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats(allow_nan=True)))
def test_any_cell_parses_without_raising(cell):
    aus = parse_action_units(cell)
    assert all(u.number >= 0 for u in aus.units)
    assert ActionUnits.from_dict(aus.to_dict()) == aus


_token = st.builds(
    lambda side, n, inten: f"{side}{n}{inten}",
    st.sampled_from(["", "L", "R", "AU", "AUL"]),
    st.integers(1, 64),
    st.sampled_from(["", "A", "B", "E"]),
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(_token, min_size=1, max_size=6), st.sampled_from(["+", " + ", ","]))
def test_generated_codes_all_read(tokens, sep):
    aus = parse_action_units(sep.join(tokens))
    assert aus.ok
    assert [u.number for u in aus.units] == [
        int("".join(c for c in t if c.isdigit())) for t in tokens
    ]
