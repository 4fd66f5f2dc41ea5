"""A juror's vote salts in the node home: kept across runs, private, and clear errors for damage or absence."""
from __future__ import annotations

import stat

import pytest

from middleware.jury.errors import SaltFileError
from middleware.jury.salts import SaltBook, SealedVote

JUROR = bytes.fromhex("11" * 20)


def test_salts_round_trip_per_chain_case_and_seat_in_a_private_file(tmp_path) -> None:
    book = SaltBook(tmp_path / "home" / "jury-salts.json")
    book.record(15, 3, 0, JUROR, SealedVote(True, b"\x01" * 32))
    book.record(15, 3, 1, JUROR, SealedVote(False, b"\x02" * 32))
    book.record(15, 3, 0, JUROR, SealedVote(False, b"\x03" * 32))  # a new commit of the same seat replaces it
    again = SaltBook(tmp_path / "home" / "jury-salts.json")
    assert again.lookup(15, 3, 0, JUROR) == SealedVote(False, b"\x03" * 32)
    assert again.lookup(15, 3, 1, JUROR) == SealedVote(False, b"\x02" * 32)
    assert stat.S_IMODE(book.path.stat().st_mode) == 0o600
    with pytest.raises(SaltFileError, match="no salt kept for case 3, juror 2"):
        again.lookup(15, 3, 2, JUROR)
    with pytest.raises(SaltFileError, match="no salt kept for case 3, juror 0"):
        again.lookup(16, 3, 0, JUROR)  # another chain


@pytest.mark.parametrize("text", ["[1]", "{", '{"15/1/0/0x11": {"vote": 1, "salt": "0x00"}}',
                                  '{"k": {"vote": true, "salt": "0x' + "zz" * 32 + '"}}', '{"k": {}}'])
def test_a_damaged_salts_file_is_reported_not_a_traceback(tmp_path, text: str) -> None:
    path = tmp_path / "jury-salts.json"
    path.write_text(text)
    with pytest.raises(SaltFileError, match="cannot read the vote salts"):
        SaltBook(path).lookup(15, 1, 0, JUROR)
