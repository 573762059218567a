import pytest

from datarefresh.anonymize.keyed import Keyring
from datarefresh.config import bundled_demo_config
from datarefresh.errors import ConfigError
from datarefresh.refresh.plan import key_fingerprint
from datarefresh.refresh.unit import process_unit
from tests.conftest import TEST_KEY
from tests.unit.test_run_levels import make_plan


def test_a_worker_with_another_key_refuses_its_unit(secret_env):
    """Mapped units run in other processes (Celery workers): one with another key would write
    pseudonyms that join nothing, under a manifest that records the planned key."""
    planned_with = Keyring(bytes(reversed(TEST_KEY)))
    plan = make_plan(key_fingerprint=key_fingerprint(planned_with))
    with pytest.raises(ConfigError, match="differs from the one the run was planned with"):
        process_unit(bundled_demo_config(), None, plan, "customers", 0)
    assert key_fingerprint(Keyring(TEST_KEY)) != plan.key_fingerprint
