"""The layout of a node home directory (one place for every path in it)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path("~/.cmnode")
HOME_ENV = "CMNODE_HOME"


@dataclass(frozen=True)
class NodeHome:
    """Paths inside a node home."""

    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None) -> NodeHome:
        """The home given, else ``$CMNODE_HOME``, else ``~/.cmnode``."""
        chosen = home if home is not None else os.environ.get(HOME_ENV) or DEFAULT_HOME
        return cls(Path(chosen).expanduser().resolve())

    @property
    def config(self) -> Path:
        """Node settings (TOML)."""
        return self.root / "config.toml"

    @property
    def genesis(self) -> Path:
        """The genesis document."""
        return self.root / "genesis.json"

    @property
    def data(self) -> Path:
        """Directory of the chain database and consensus state."""
        return self.root / "data"

    @property
    def database(self) -> Path:
        """The LevelDB directory."""
        return self.data / "chain.ldb"

    @property
    def last_signed(self) -> Path:
        """The validator's last-signed record (double-sign protection)."""
        return self.data / "last_signed.json"

    @property
    def validator_key(self) -> Path:
        """The validator's consensus key."""
        return self.root / "config" / "validator_key.json"

    @property
    def node_key(self) -> Path:
        """The p2p node key (its node id is derived from it)."""
        return self.root / "config" / "node_key.json"

    @property
    def wal(self) -> Path:
        """The consensus write-ahead log directory."""
        return self.data / "cs.wal"

    @property
    def keystore(self) -> Path:
        """Encrypted account keystores."""
        return self.root / "keystore"

    @property
    def jury_salts(self) -> Path:
        """The salts of a juror's committed votes, kept until the reveal (``cmnode jury commit``)."""
        return self.root / "jury-salts.json"

    @property
    def pid_file(self) -> Path:
        """PID of the running node."""
        return self.data / "cmnode.pid"

    def is_initialised(self) -> bool:
        """Whether ``cmnode init`` has run here."""
        return self.config.exists() and self.genesis.exists()
