"""Outputs appear whole or not at all, with the mode asked for from the first byte."""

import os
import stat

import pytest

from dakl_etl.outputs.atomic import atomic_output, write_bytes_atomic


def test_file_appears_with_private_mode(tmp_path):
    target = tmp_path / "DAKL_J2024_x.csv"
    with atomic_output(target) as handle:
        handle.write(b"abc")
        # nothing at the final name while writing; the temp file is already private
        assert not target.exists()
        temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert len(temps) == 1
        assert stat.S_IMODE(temps[0].stat().st_mode) == 0o600
    assert target.read_bytes() == b"abc"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == [target.name]


def test_failure_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.json"
    write_bytes_atomic(target, b"old")
    with pytest.raises(RuntimeError), atomic_output(target) as handle:
        handle.write(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.json"]
