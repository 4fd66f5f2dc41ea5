"""``cmnode jury``: inputs that cannot be right are refused with one line before any key or node is touched."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from cybermiles_node.cli.main import cli


@pytest.mark.parametrize(("args", "message"), [
    (["commit", "1", "--index", "0", "--vote", "maybe"], "'maybe' is not one of 'yes', 'no'"),
    (["commit", "1", "--index", "128", "--vote", "yes"], "128 is not in the range 0<=x<=127"),
    (["reveal", "0", "--index", "0", "--vote", "no"], "0 is not in the range x>=1"),
    (["commit", "1", "--index", "0", "--vote", "yes", "--salt", "0x12"], "--salt: '0x12' is not 0x and 64 hex digits"),
    (["commit", "1", "--index", "0", "--vote", "yes", "--salt", "0x" + "zz" * 32], "is not 0x and 64 hex digits"),
    (["stake", "--amount", "ten"], "--amount:"),
    (["status", "--juror", "0x1234", "--rpc", "http://127.0.0.1:9"], "--juror"),
    (["status", "--rpc", "http://127.0.0.1:9"], "cannot reach node at http://127.0.0.1:9"),
])
def test_bad_inputs_get_one_line(tmp_path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["jury", *args, "--home", str(tmp_path)] if args[0] != "status" else
                                ["jury", *args])
    assert result.exit_code != 0 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert message in result.output
    assert "Traceback" not in result.output
