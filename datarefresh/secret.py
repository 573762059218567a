"""Where the pseudonym key comes from. The key is never logged, printed or reported."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from datarefresh.anonymize.keyed import Keyring
from datarefresh.config import SecretConfig
from datarefresh.errors import SecretError

# Published on purpose so that demos and tests run anywhere; outputs made with it are
# reversible by anyone, so it must never be used on real data.
DEMO_KEY = b"datarefresh-published-demo-key--not-secret--never-use-on-real-data"


def resolve_keyring(secret: SecretConfig | None = None, *, allow_demo_key: bool = False) -> Keyring:
    secret = secret or SecretConfig()
    value: bytes | None = None
    if secret.file:
        try:
            value = Path(secret.file).expanduser().read_bytes().strip()
        except OSError as exc:
            raise SecretError(f"cannot read the pseudonym key file {secret.file} ({exc.strerror})") from None
    elif secret.airflow_variable:
        try:
            from airflow.sdk import Variable
        except ImportError:  # pragma: no cover - Airflow is a dependency
            raise SecretError("the config reads the key from an Airflow Variable, but Airflow is not importable") from None
        try:
            text = Variable.get(secret.airflow_variable)
        except Exception as exc:  # noqa: BLE001 - Airflow raises several types for a missing variable
            raise SecretError(f"cannot read Airflow Variable {secret.airflow_variable!r} "
                              f"({type(exc).__name__})") from None
        from airflow.sdk.log import mask_secret

        mask_secret(text)  # redacted from task logs even if something prints it
        value = text.encode("utf-8")
    elif secret.env:
        env_value = os.environ.get(secret.env)
        value = env_value.encode("utf-8") if env_value else None
    if value:
        return Keyring(value)
    if allow_demo_key:
        print("warning: using the published demo key; pseudonyms are NOT protected (demo data only)",
              file=sys.stderr)
        return Keyring(DEMO_KEY)
    where = (f"file {secret.file}" if secret.file else f"Airflow Variable {secret.airflow_variable}"
             if secret.airflow_variable else f"environment variable {secret.env}")
    raise SecretError(f"no pseudonym key: set the {where} (at least 32 random bytes), "
                      "or pass --demo-key to use the published demo key on demo data")
