"""Sender accounts derived from a BIP-39 mnemonic, cached on disk because derivation is slow."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from benchmarks.errors import BenchmarkError

DEV_MNEMONIC = "test test test test test test test test test test test junk"
PATH_TEMPLATE = "m/44'/60'/0'/0/{}"
CACHE_DIR = Path(__file__).resolve().parent / ".cache"


def _cache_file(mnemonic: str, cache_dir: Path) -> Path:
    """The cache file for ``mnemonic``: named by a digest so the phrase itself is not in the file name."""
    digest = hashlib.sha256(f"{mnemonic}|{PATH_TEMPLATE}".encode()).hexdigest()[:16]
    return cache_dir / f"keys-{digest}.json"


def derive_accounts(count: int, mnemonic: str = DEV_MNEMONIC, cache_dir: Path = CACHE_DIR) -> list[LocalAccount]:
    """Return the first ``count`` accounts of ``mnemonic`` on path m/44'/60'/0'/0/i, reusing cached keys."""
    cache = _cache_file(mnemonic, cache_dir)
    keys: list[str] = []
    if cache.exists():
        try:
            keys = list(json.loads(cache.read_text()))
        except (OSError, ValueError):
            keys = []
    if len(keys) < count:
        Account.enable_unaudited_hdwallet_features()
        try:
            for i in range(len(keys), count):
                account = Account.from_mnemonic(mnemonic, account_path=PATH_TEMPLATE.format(i))
                keys.append(account.key.hex())
        except Exception as exc:  # eth_account raises plain ValueError and friends for a bad phrase
            raise BenchmarkError(f"cannot derive accounts from the mnemonic: {exc}") from exc
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(keys))
    return [Account.from_key(k) for k in keys[:count]]
