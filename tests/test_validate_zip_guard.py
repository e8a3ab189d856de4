"""A zip whose member claims to unpack to more than any DAKL file is refused before reading."""

import zipfile

import pytest

from dakl_etl.errors import UsageError
from dakl_etl.validation import files, validate_paths


def test_oversized_zip_member_is_refused_without_reading(tmp_path, monkeypatch):
    archive = tmp_path / "levering.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("DAKL_J2024_a.csv", b"0" * 200_000)  # compresses to a few hundred bytes
    monkeypatch.setattr(files, "MAX_ZIP_MEMBER_BYTES", 100_000)
    with pytest.raises(UsageError, match=r"unpacks to .* validate the unpacked file"):
        validate_paths([archive])
