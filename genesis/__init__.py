"""Chain specification: the genesis document, its validation, the CMT distribution and built-in networks."""
from genesis.distribution import (
    CMT,
    GENESIS_SUPPLY,
    SUPPLY_CAP,
    Distribution,
    white_paper_distribution,
)
from genesis.document import (
    Allocation,
    ChainParams,
    ConsensusParams,
    DposGenesis,
    GenesisDocument,
    Validator,
    VestingSchedule,
)
from genesis.errors import (
    DistributionError,
    GenesisError,
    GenesisFileError,
    GenesisJSONError,
    GenesisValidationError,
)
from genesis.loader import load_genesis, parse_genesis, save_genesis
from genesis.networks import MNEMONIC, NETWORKS, DevAccount, dev_accounts, local_genesis
from genesis.validation import validate_genesis

__all__ = [
    "CMT",
    "GENESIS_SUPPLY",
    "MNEMONIC",
    "NETWORKS",
    "SUPPLY_CAP",
    "Allocation",
    "ChainParams",
    "ConsensusParams",
    "DevAccount",
    "Distribution",
    "DistributionError",
    "DposGenesis",
    "GenesisDocument",
    "GenesisError",
    "GenesisFileError",
    "GenesisJSONError",
    "GenesisValidationError",
    "Validator",
    "VestingSchedule",
    "dev_accounts",
    "load_genesis",
    "local_genesis",
    "parse_genesis",
    "save_genesis",
    "validate_genesis",
    "white_paper_distribution",
]
