"""mer_fast.eval.objective_classes on hand-written AU cells of every class and every spelling,
and tools/objective_agreement.py on hand-written sheets (.csv and .xlsx, SAMM's layout)."""

from __future__ import annotations

import csv

import pytest

from mer_fast.errors import DataError
from mer_fast.eval.objective_classes import ROMAN, TABLE, classify, read_aus
from tools import objective_agreement


@pytest.mark.parametrize(
    "cell, roman",
    [
        ("6+12", "I"),
        ("R6A+R12B", "I"),
        ("7C+A12B", "I"),
        ("1+2", "II"),
        ("A1B+A2C", "II"),
        ("25+26", "II"),
        ("5B+24", "II"),
        ("4+7", "III"),
        ("T23", "III"),
        ("4A/B", "III"),
        ("17+24", "III"),
        ("R10", "IV"),
        ("4D+9B", "IV"),
        ("4+5+7+9", "IV"),
        ("A1", "V"),
        ("15A+17", "V"),
        ("1+2+4", "VI"),
        ("L20", "VI"),
        ("14", "VII"),
        ("L2", "VII"),
        ("7B", "VII"),
        ("12+15", "VII"),  # I's AU12 and V's AU15 together: not listed
        ("4+7+43", "VII"),  # a listed combination plus another AU
        ("B18+25", "VII"),
    ],
)
def test_hand_written_cells(cell, roman):
    assert classify(cell).roman == roman


def test_every_combination_of_the_table_is_its_class():
    seen = {}
    for label, combos in TABLE.items():
        for combo in combos:
            assert combo not in seen, f"{sorted(combo)} in classes {seen[combo]} and {label}"
            seen[combo] = label
            a = classify("+".join(str(n) for n in sorted(combo)))
            assert a.label == label and a.combination == combo and a.note == ""
    assert len(seen) == 36 and set(TABLE) == {1, 2, 3, 4, 5, 6}


def test_samm_spellings_are_read():
    assert read_aus("ref(L10)+A12B").numbers() == {12}
    assert {(u.side, u.asymmetric) for u in read_aus("A/L12").units} == {(None, True), ("L", False)}
    assert read_aus("A/L12").numbers() == {12}
    assert read_aus("T18+39").numbers() == {18, 39}
    assert read_aus("7B+ ref(43)").numbers() == {7}
    assert read_aus("4A/B").units[0].intensity == "A/B"  # an intensity, not a prefix
    assert classify("ref(5)+20C").roman == "VI"


def test_head_and_eye_codes_and_static_codes_are_left_out():
    a = classify("L12 + 61")
    assert a.roman == "I" and "61" in a.note
    assert classify("4+56").roman == "III"
    assert classify("AU4(k)+AU7+AU4").roman == "III"  # the (k) code is static, not moving
    assert classify("AU4(k)+7").roman == "VII"


def test_alternatives():
    assert classify("6 or 12").roman == "I"  # both options in class I
    a = classify("(R6 or R12)+R15")  # 6+15 is V, 12+15 is not listed
    assert a.roman == "VII" and "V" in a.note and a.aus == {6, 12, 15}
    assert classify("L12 or L14").roman == "VII"
    assert classify("1+2 or 4").roman == "VII"  # II or III


def test_no_code_has_no_class():
    for cell in ("?", "", None, "/"):
        a = classify(cell)
        assert a.label is None and a.roman is None


def test_roman():
    assert ROMAN[6] == "VII" and classify("20").roman == "VI"


HEADER = ["Subject", "Filename", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
ROWS = [
    ["1", "001_1", "6+12", "Happiness", "1", ""],
    ["1", "001_2", "4+7+43", "Anger", "3", ""],  # the rule says VII
    ["2", "002_1", "1+2", "Surprise", "II", ""],
    ["2", "002_2", "L14", "Contempt", "7", ""],
    ["2", "002_3", "?", "Other", "", ""],  # no class: not counted
]


def _check_report(text: str):
    assert text.startswith("3/4 clips (75.0%)")
    assert "  III:    1    0    0.0%   -" in text
    assert "    I:    1    1  100.0%   1/1" in text
    assert "VII:    1    1  100.0%   1/2" in text


def test_tool_on_a_csv(tmp_path, capsys):
    path = tmp_path / "sheet.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["A coding sheet", "", "notes above the header"])
        w.writerow([])
        w.writerow(HEADER)
        w.writerows(ROWS)
    assert objective_agreement.main([str(path), "--list"]) == 0
    out = capsys.readouterr().out
    _check_report(out)
    assert "001_2\t4+7+43\tIII\tVII" in out


def test_tool_on_an_xlsx_with_notes_above_the_header(tmp_path, capsys):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "MICRO_ONLY"
    for i in range(13):
        ws.append([f"note {i}"] if i % 3 else [])
    ws.append(HEADER)
    for row in ROWS:  # classes as the owners' sheet stores them: numbers
        ws.append(row[:4] + [int(row[4]) if row[4].isdigit() else row[4]] + row[5:])
    wb.save(tmp_path / "sheet.xlsx")
    assert objective_agreement.main([str(tmp_path / "sheet.xlsx")]) == 0
    _check_report(capsys.readouterr().out)


def test_tool_errors(tmp_path, capsys):
    assert objective_agreement.main([str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("Filename,Action Units\nx,4\n")
    assert objective_agreement.main([str(bad)]) == 2
    assert "Objective Classes" in capsys.readouterr().err
    odd = tmp_path / "odd.csv"
    odd.write_text("Filename,Action Units,Objective Classes\nx,4,9\n")
    assert objective_agreement.main([str(odd)]) == 2
    assert "not 1-7" in capsys.readouterr().err
    with pytest.raises(DataError, match="no row"):
        objective_agreement.report([("x", "4", "")])
