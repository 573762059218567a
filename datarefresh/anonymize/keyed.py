"""Keyed determinism lives here and nowhere else.

Every pseudonym is a function of (secret key, entity type, value) only: never of
Python's hash seed, row order, table or process. The building block is SipHash-2-4
(pandas' vectorized `hash_array`, a keyed PRF) under a per-entity subkey derived
from the secret with HMAC-SHA256. Without the secret, outputs cannot be recomputed,
so a dictionary of candidate values does not reverse them.

Integer identifiers use a keyed Feistel permutation instead of a hash: a bijection,
so primary keys stay unique by construction and foreign keys map exactly like the
keys they reference.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
SMALL_DOMAIN_BITS = 31  # ids in [0, 2**31) stay in that range (they still fit an int32)


def mix(h: np.ndarray, salt) -> np.ndarray:
    """splitmix64 finalizer of (h + salt * golden): independent-looking 64-bit streams from one hash."""
    with np.errstate(over="ignore"):
        z = h + np.asarray(salt, dtype=np.uint64) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


class Keyring:
    """Derives per-purpose subkeys from the secret. Never logs or exposes the secret."""

    def __init__(self, secret: bytes):
        if not secret:
            raise ValueError("empty secret")
        self._secret = secret

    def __repr__(self) -> str:  # the secret must not end up in logs via repr()
        return "Keyring(<secret>)"

    @lru_cache(maxsize=4096)
    def subkey(self, purpose: str) -> bytes:
        return hmac.new(self._secret, b"datarefresh/v1/" + purpose.encode("utf-8"), hashlib.sha256).digest()

    @lru_cache(maxsize=4096)
    def _sip_key(self, purpose: str) -> str:
        # pandas takes the 16-byte SipHash key as a 16-character string encoded with the
        # values' encoding (utf-8): 7 bits per character keeps it 16 bytes (112-bit key).
        return "".join(chr(b & 0x7F) for b in self.subkey("sip/" + purpose)[:16])

    def hash_values(self, entity: str, values: pa.Array) -> np.ndarray:
        """uint64 keyed hash per value (nulls hash like the empty string; callers keep nulls null)."""
        strings = canonical_strings(entity, values)
        obj = strings.to_numpy(zero_copy_only=False)
        if obj.dtype != object:
            obj = obj.astype(object)
        obj[pd.isna(obj)] = ""
        return pd.util.hash_array(obj, encoding="utf8", hash_key=self._sip_key(entity), categorize=False)

    def round_keys(self, entity: str, rounds: int) -> np.ndarray:
        d = b"".join(self.subkey(f"feistel/{entity}/{i}") for i in range((rounds * 8 + 31) // 32))
        return np.frombuffer(d[: rounds * 8], dtype=np.uint64)


def canonical_strings(entity: str, values: pa.Array) -> pa.Array:
    """The text that is hashed: ints and strings of the same entity agree ("42" == 42),
    and e-mail addresses are case-insensitive."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = pc.cast(values, pa.string())
    if entity == "EMAIL_ADDRESS":
        values = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    return values


_FEISTEL_ROUNDS = 8


def _feistel(x: np.ndarray, bits: int, keys: np.ndarray) -> np.ndarray:
    """Balanced Feistel permutation of [0, 2**bits), bits even."""
    half = bits // 2
    mask = np.uint64((1 << half) - 1)
    left, right = x >> np.uint64(half), x & mask
    for k in keys:
        left, right = right, left ^ (mix(right ^ k, 1) & mask)
    return (left << np.uint64(half)) | right


def permute_u64(keyring: Keyring, entity: str, values: np.ndarray) -> np.ndarray:
    """Keyed bijection on [0, 2**64) with no class kept (unlike permute_ints): for names whose order
    must say nothing, such as output part names."""
    return _feistel(values.astype(np.uint64), 64, keyring.round_keys(entity, _FEISTEL_ROUNDS))


def permute_ints(keyring: Keyring, entity: str, values: np.ndarray) -> np.ndarray:
    """Keyed bijection on int64: [0, 2**31) maps onto itself, everything else onto the rest.

    The domain is chosen by value, not by column type, so an int32 foreign key and the
    int64 primary key it references map identically. Cycle walking keeps each class closed.
    """
    keys = keyring.round_keys(entity, _FEISTEL_ROUNDS)
    u = values.astype(np.int64).view(np.uint64).copy()
    small = u < np.uint64(1 << SMALL_DOMAIN_BITS)
    out = np.empty_like(u)
    for want_small, bits in ((True, 32), (False, 64)):
        todo = np.flatnonzero(small == want_small)
        cur = u[todo]
        while todo.size:
            cur = _feistel(cur, bits, keys)
            done = (cur < np.uint64(1 << SMALL_DOMAIN_BITS)) == want_small
            out[todo[done]] = cur[done]
            todo, cur = todo[~done], cur[~done]
    return out.view(np.int64)
