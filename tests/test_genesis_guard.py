"""A node refuses a genesis document other than the one its database was created with."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cybermiles_node.application import CyberMilesApp
from cybermiles_node.cli.main import cli
from cybermiles_node.errors import GenesisMismatch
from cybermiles_node.home import NodeHome
from cybermiles_node.storage import ChainStore, LevelDB
from genesis.document import GenesisDocument
from genesis.loader import load_genesis


def _open(path: Path, genesis: GenesisDocument) -> tuple[LevelDB, CyberMilesApp]:
    db = LevelDB(path)
    return db, CyberMilesApp(ChainStore(db), genesis)


def test_same_genesis_reopens(tmp_path: Path, genesis: GenesisDocument) -> None:
    db, app = _open(tmp_path / "db", genesis)
    first = app.latest_header.hash
    db.close()
    db, app = _open(tmp_path / "db", genesis)
    assert app.latest_header.hash == first
    db.close()


@pytest.mark.parametrize("change", ["chain_id", "allocation"])
def test_changed_genesis_is_refused_and_the_database_is_untouched(
    tmp_path: Path, genesis: GenesisDocument, change: str
) -> None:
    db, app = _open(tmp_path / "db", genesis)
    genesis_block = app.latest_header.hash
    db.close()
    if change == "chain_id":
        changed = dataclasses.replace(genesis, chain_id=genesis.chain_id + 1)
    else:
        first = genesis.alloc[0]
        changed = dataclasses.replace(
            genesis, alloc=(dataclasses.replace(first, balance=first.balance + 10**18), *genesis.alloc[1:])
        )
    with pytest.raises(GenesisMismatch, match="not the genesis this database was created with"):
        _open(tmp_path / "db", changed)
    db, app = _open(tmp_path / "db", genesis)
    assert app.latest_header.hash == genesis_block
    db.close()


def test_cmnode_start_with_an_edited_genesis_exits_with_a_clear_error(tmp_path: Path) -> None:
    runner = CliRunner()
    home = tmp_path / "home"
    assert runner.invoke(cli, ["init", "--home", str(home)]).exit_code == 0
    node_home = NodeHome.resolve(home)
    genesis = load_genesis(node_home.genesis)
    db, _ = _open(node_home.database, genesis)  # the chain as a first start creates it
    db.close()
    document = json.loads(node_home.genesis.read_text())
    document["chain_id"] = 16
    node_home.genesis.write_text(json.dumps(document, indent=2))

    result = runner.invoke(cli, ["start", "--home", str(home)])

    assert result.exit_code != 0
    assert "not the genesis this database was created with" in result.output
    assert "Traceback" not in result.output
