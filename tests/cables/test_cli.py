"""The `cable parse` command: JSON Lines in the order given, error lines, exit status."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cables.cli import cable_app

runner = CliRunner()
CABLE = "O 140153Z DEC 07\nFM SECSTATE WASHDC\nTO AMEMBASSY HANOI IMMEDIATE 5685\n\nC O N F I D E N T I A L STATE 166909\n\nTAGS: PREL\nSUBJECT: TEST\n\n1. (C) Text.\n\nRICE\n"


def test_parse_json_lines_in_order_with_error(tmp_path: Path) -> None:
    good = tmp_path / "a.txt"
    good.write_text(CABLE, encoding="utf-8")
    missing = tmp_path / "missing.txt"
    result = runner.invoke(cable_app, ["parse", str(good), str(missing), str(good), "--json"])
    assert result.exit_code != 0
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [d["file"] for d in lines] == [str(good), str(missing), str(good)]
    assert lines[0]["ref_id"] == "07STATE166909"
    assert "error" in lines[1] and "ref_id" not in lines[1]


def test_parse_summary(tmp_path: Path) -> None:
    good = tmp_path / "a.txt"
    good.write_text(CABLE, encoding="utf-8")
    result = runner.invoke(cable_app, ["parse", str(good)])
    assert result.exit_code == 0
    assert "07STATE166909" in result.stdout


def test_unicode_line_separators_end_lines_and_never_split_a_json_line(tmp_path: Path) -> None:
    """U+2028 / U+2029 are line breaks: the parser reads them as newlines (so the header
    reads the same), and JSON Lines output escapes them (a reader that splits on Unicode
    line boundaries would cut the record). The file name keeps one to reach the output."""
    plain = tmp_path / "plain.txt"
    plain.write_text(CABLE, encoding="utf-8")
    odd = tmp_path / "odd\u2028name.txt"
    odd.write_text(CABLE.replace("\n", "\u2028", 40).replace("\n", "\u2029", 5), encoding="utf-8")
    result = runner.invoke(cable_app, ["parse", str(plain), str(odd), "--json"])
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == 2, lines[:5]
    first, second = (json.loads(line) for line in lines)
    assert second["file"] == str(odd)
    assert {k: v for k, v in second.items() if k != "file"} == {
        k: v for k, v in first.items() if k != "file"
    }
