"""The home of a remote signer: its identity key, the validator key, its last-signed record and settings.

``signer.toml`` holds the chain id the signer signs for. Key files are the
project's usual ones (JSON, mode 0600, like a node home's), in a directory of
mode 0700. A home may be created from a node home (``import_from``): the
validator key and the node's last-signed record are copied, so the signer's
double-sign guard starts where the node's stopped.
"""
from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from consensus.keys import ValidatorKey
from consensus.privval import PrivValidator
from cybermiles_node.errors import ConfigError, HomeError
from cybermiles_node.home import NodeHome
from p2p.keys import NodeKey


@dataclass(frozen=True)
class SignerHome:
    """Paths inside a signer home."""

    root: Path

    @property
    def config(self) -> Path:
        """Signer settings (TOML): the chain id."""
        return self.root / "signer.toml"

    @property
    def identity_key(self) -> Path:
        """The signer's Ed25519 identity on the secret connection (its id is what the node accepts)."""
        return self.root / "identity_key.json"

    @property
    def validator_key(self) -> Path:
        """The validator's consensus key."""
        return self.root / "validator_key.json"

    @property
    def last_signed(self) -> Path:
        """The double-sign guard's last-signed record."""
        return self.root / "data" / "last_signed.json"

    def is_initialised(self) -> bool:
        """Whether ``initialise_signer_home`` has run here."""
        return self.config.exists()


def initialise_signer_home(home: SignerHome, chain_id: int, import_from: NodeHome | None) -> PrivValidator:
    """Create ``home``: a new identity key, and a new validator key or the one of ``import_from``."""
    if home.is_initialised():
        raise HomeError(f"{home.root} is already a signer home")
    if home.root.is_dir() and any(home.root.iterdir()):
        raise HomeError(f"{home.root} is not empty: a signer home is made in a new or empty directory")
    if import_from is not None and not import_from.validator_key.exists():
        raise HomeError(f"{import_from.root} has no validator key to import ({import_from.validator_key.name})")
    key = ValidatorKey.load(import_from.validator_key) if import_from is not None else ValidatorKey.generate()
    home.last_signed.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home.root, 0o700)
    NodeKey.generate().save(home.identity_key)
    key.save(home.validator_key)
    if import_from is not None and import_from.last_signed.exists():
        shutil.copyfile(import_from.last_signed, home.last_signed)
        os.chmod(home.last_signed, 0o600)
    privval = PrivValidator(key, home.last_signed)  # checks a copied record
    home.config.write_text(tomli_w.dumps({"chain_id": chain_id}))
    return privval


def load_chain_id(home: SignerHome) -> int:
    """The chain id of ``signer.toml``."""
    try:
        data = tomllib.loads(home.config.read_text())
    except FileNotFoundError:
        raise HomeError(f"{home.root} is not a signer home: run `cmnode signer init --home {home.root}`") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{home.config}: {exc}") from None
    chain_id = data.get("chain_id")
    if set(data) != {"chain_id"} or not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
        raise ConfigError(f"{home.config}: expected exactly `chain_id = <positive integer>`")
    return chain_id
