"""``sparsewire analyze``: summaries, ``--json`` and clean exit-2 errors on files that are not graphs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sparsewire.clients.cli import main


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_balance_and_chordal_summaries_and_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tri = _write(tmp_path / "tri.csv", "source,target,weight\na,b,1\nb,c,-1\nc,a,-1\n")
    assert main(["analyze", "balance", str(tri), "--undirected", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["balanced"] is True and {frozenset(res["camp_plus"]), frozenset(res["camp_minus"])} == {
        frozenset({"a", "b"}), frozenset({"c"})}
    c4 = _write(tmp_path / "c4.csv", "0,1\n1,2\n2,3\n3,0\n")
    for ordering in ("lexbfs", "mcs"):
        assert main(["analyze", "chordal", str(c4), "--undirected", "--ordering", ordering, "--json"]) == 0
        res = json.loads(capsys.readouterr().out)
        assert res["chordal"] is False and sorted(res["hole"]) == [0, 1, 2, 3]
        assert res["conventions"]["ordering"] == ordering
    assert main(["analyze", "cliques", str(c4), "--undirected"]) == 1
    assert "not chordal" in capsys.readouterr().err


def test_files_that_are_not_graphs_exit_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    binary = tmp_path / "x.csv"
    binary.write_bytes(bytes(range(128, 256)) * 3)
    truncated = tmp_path / "t.csv.gz"
    truncated.write_bytes(gzip.compress(b"0,1\n1,2\n" * 1000)[:40])
    archive = tmp_path / "g.zip"
    archive.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    nan = _write(tmp_path / "nan.csv", "a,b,1\nb,c,NaN\n")
    cases = {binary: "not a text graph file", truncated: "damaged gzip", archive: "zip archives are not read",
             tmp_path: "is a directory", nan: "edge 1 ('b' -> 'c'): weight nan",
             tmp_path / "missing.csv": "No such file"}
    for path, message in cases.items():
        assert main(["analyze", "balance", str(path)]) == 2, path
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and "Traceback" not in err, err
