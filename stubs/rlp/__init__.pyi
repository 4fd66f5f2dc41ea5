"""Types of the parts of pyrlp the node uses (pyrlp ships no type information)."""
from typing import Any

from rlp.exceptions import DecodingError as DecodingError
from rlp.exceptions import DeserializationError as DeserializationError
from rlp.exceptions import EncodingError as EncodingError
from rlp.exceptions import RLPException as RLPException
from rlp.exceptions import SerializationError as SerializationError

from . import codec as codec
from . import exceptions as exceptions
from . import sedes as sedes

def encode(obj: object, sedes: object = ..., infer_serializer: bool = ..., cache: bool = ...) -> bytes: ...
def decode(rlp: bytes, sedes: Any = ..., strict: bool = ..., recursive_cache: bool = ..., **kwargs: Any) -> Any: ...

class Serializable:
    fields: Any
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    def __iter__(self) -> Any: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: Any) -> Any: ...
    def copy(self, *args: Any, **kwargs: Any) -> Any: ...
    # classmethods whose signatures subclasses (py-evm's transactions) redefine
    serialize: Any
    deserialize: Any
