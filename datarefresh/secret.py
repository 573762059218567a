"""Where the pseudonym key comes from. The key is never logged, printed or reported."""

from __future__ import annotations

import os
import string
import sys
from pathlib import Path
from typing import Callable

from datarefresh.anonymize.keyed import Keyring
from datarefresh.config import Config, SecretConfig
from datarefresh.errors import SecretError

# Published on purpose so that demos and tests run anywhere; outputs made with it are
# reversible by anyone, so it must never be used on real data.
DEMO_KEY = b"datarefresh-published-demo-key--not-secret--never-use-on-real-data"
# Set by the demo's own Airflow run (`datarefresh demo --airflow`), which passes DEMO_KEY to
# the DAG through the environment: the DAG cannot take --demo-key. It applies only to a config
# whose buckets are all the embedded local demo's (an environment variable left set on a real
# worker must not turn a missing key into a published one); anywhere else it is refused.
DEMO_KEY_ENV = "DATAREFRESH_ALLOW_DEMO_KEY"

MIN_KEY_BITS = 128
MAKE_KEY = "python -c 'import secrets; print(secrets.token_hex(32))'"
_HEX = frozenset(string.hexdigits)
_B64 = frozenset(string.ascii_letters + string.digits + "+/-_=")


def demo_buckets(config: Config | None) -> bool:
    """Whether every bucket the config reads or writes is one of the embedded local demo's."""
    from datarefresh.config import bundled_demo_config

    used = _buckets(config) if config is not None else set()
    return bool(used) and used <= _buckets(bundled_demo_config())


def _buckets(config: Config) -> set[str]:
    uris = [config.source.uri] if config.source is not None and config.source.uri else []
    uris += [e.bucket for e in config.environments.values() if e.bucket]
    return {
        u[len("s3://") :].split("/", 1)[0] if u.startswith("s3://") else f"local folder {u}" for u in uris
    }


# Reads `secret.airflow_variable`: registered by datarefresh.airflow (the only package that imports
# Airflow) when it is imported, so a task under Airflow reads Variables and nothing else needs Airflow.
VariableGetter = Callable[[str], str]
_variable_getter: VariableGetter | None = None


def register_variable_getter(getter: VariableGetter | None) -> None:
    """Install the function that reads an Airflow Variable by name (it also masks the value in logs)."""
    global _variable_getter
    _variable_getter = getter


def resolve_keyring(
    secret: SecretConfig | None = None,
    *,
    allow_demo_key: bool = False,
    variable_getter: VariableGetter | None = None,
    config: Config | None = None,
) -> Keyring:
    """The one way to get the pseudonym key: from the file, the Airflow Variable (through
    `variable_getter`, default: the registered one) or the environment variable the config names.
    `allow_demo_key` (`--demo-key`, asked for explicitly) accepts the published demo key;
    DATAREFRESH_ALLOW_DEMO_KEY=1 does too, but only for a `config` whose buckets are the local demo's."""
    secret = secret or SecretConfig()
    value: bytes | None = None
    if secret.file:
        try:
            value = Path(secret.file).expanduser().read_bytes().strip()
        except OSError as exc:
            raise SecretError(f"cannot read the pseudonym key file {secret.file} ({exc.strerror})") from None
    elif secret.airflow_variable:
        getter = variable_getter or _variable_getter
        if getter is None:
            raise SecretError(
                f"the config reads the key from Airflow Variable {secret.airflow_variable!r}, "
                "which only an Airflow task can read (datarefresh.airflow.variables.install() "
                "registers the reader)"
            )
        try:
            text = getter(secret.airflow_variable)
        except Exception as exc:  # noqa: BLE001 - Airflow raises several types for a missing variable
            raise SecretError(
                f"cannot read Airflow Variable {secret.airflow_variable!r} ({type(exc).__name__})"
            ) from None
        value = text.encode("utf-8")
    elif secret.env:
        env_value = os.environ.get(secret.env)
        value = env_value.encode("utf-8") if env_value else None
    if not allow_demo_key and os.environ.get(DEMO_KEY_ENV) == "1" and (value is None or value == DEMO_KEY):
        if not demo_buckets(config):
            raise SecretError(
                f"{DEMO_KEY_ENV}=1 is set, but it applies only to the embedded local demo (its "
                "buckets datarefresh-prod, -dev and -staging), not to this config's buckets: set the "
                f"{_where(secret)} to a real key (make one with: {MAKE_KEY}), and unset {DEMO_KEY_ENV}"
            )
        allow_demo_key = True
    if value == DEMO_KEY:
        if not allow_demo_key:
            raise SecretError(
                "the key is the published demo key, which protects nothing; it is accepted only "
                f"on demo data, with --demo-key (or {DEMO_KEY_ENV}=1 for Airflow). "
                f"Make a real key with: {MAKE_KEY}"
            )
        _warn_demo_key()
        return Keyring(value)
    if value:
        problem = key_weakness(value)
        if problem:
            raise SecretError(
                f"the pseudonym key from the {_where(secret)} is too weak ({problem}): it needs at "
                f"least {MIN_KEY_BITS} bits of randomness, e.g. 32+ hex or 22+ base64 characters. "
                f"Make one with: {MAKE_KEY}"
            )
        return Keyring(value)
    if allow_demo_key:
        _warn_demo_key()
        return Keyring(DEMO_KEY)
    raise SecretError(
        f"no pseudonym key: set the {_where(secret)} to a random key (make one with: {MAKE_KEY}), "
        "or, on demo data only, allow the published demo key: --demo-key on the command line, "
        f"{DEMO_KEY_ENV}=1 in the environment of Airflow's workers"
    )


_warned: list[bool] = []


def _warn_demo_key() -> None:
    """Once per process: a run resolves the key for its plan and again for every table."""
    if not _warned:
        _warned.append(True)
        print(
            "warning: using the published demo key; pseudonyms are NOT protected (demo data only)",
            file=sys.stderr,
        )


def _where(secret: SecretConfig) -> str:
    return (
        f"file {secret.file}"
        if secret.file
        else f"Airflow Variable {secret.airflow_variable}"
        if secret.airflow_variable
        else f"environment variable {secret.env}"
    )


def key_weakness(value: bytes) -> str | None:
    """Why a key cannot carry MIN_KEY_BITS of randomness, or None if it can.

    A key is counted as what generators produce: hex (4 bits a character), base64 or
    base64url (6 bits), or raw bytes (8 bits, e.g. a key file from /dev/urandom). Text that
    is none of these (a passphrase, a sentence) is refused: its entropy cannot be judged.
    Then the characters must look drawn at random: no repeated pattern, no run of 8+
    consecutive characters (abcdefgh, 12345678), not a tiny alphabet, and base64 mixes upper
    and lower case (random base64 of 22+ characters lacks one with probability < 1e-4; text
    such as "my-company-key-2024" always does). The message never contains the key.
    """
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is None or not text.isprintable():
        bits, symbols, alphabet = 8 * len(value), list(value), 256
    else:
        chars = set(text)
        if chars <= _HEX:
            bits, alphabet = 4 * len(text), 16
            text = text.lower()
        elif chars <= _B64:
            bits, alphabet = 6 * len(text.rstrip("=")), 64
            if not (any(c.isupper() for c in text) and any(c.islower() for c in text)):
                return "looks like text, not random base64: it lacks upper or lower case letters"
        else:
            return "not hex or base64; passphrases and other text cannot be judged"
        symbols = [ord(c) for c in text]
    if bits < MIN_KEY_BITS:
        return f"{len(value)} characters carry at most {bits} bits"
    n = len(symbols)
    expected_distinct = alphabet * (1 - (1 - 1 / alphabet) ** n)
    if len(set(symbols)) < 0.6 * expected_distinct:
        return f"only {len(set(symbols))} distinct characters"
    for period in range(1, n // 2 + 1):
        if all(symbols[i] == symbols[i - period] for i in range(period, n)):
            return "a repeated pattern"
    run, longest, step = 1, 1, 0
    for a, b in zip(symbols, symbols[1:]):
        d = b - a
        run = run + 1 if abs(d) == 1 and d == step else 2 if abs(d) == 1 else 1
        step, longest = d, max(longest, run)
    if longest >= 8:  # random hex of 64 characters has one with probability < 1e-6
        return "a run of consecutive characters"
    return None
