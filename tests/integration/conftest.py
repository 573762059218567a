"""A real S3/IAM/STS API server on loopback with IAM enforcement on, one per test module:
modules publish with different as-of dates, so each starts from empty buckets."""

from __future__ import annotations

import pytest

from datarefresh.devtools import localaws
from datarefresh.aws import Aws
from datarefresh.config import bundled_demo_config
from tests.localaws_server import running


@pytest.fixture(scope="session")
def config():
    return bundled_demo_config()


@pytest.fixture(scope="module")
def local(config, tmp_path_factory):
    with running(config, tmp_path_factory.mktemp("localaws")) as server:
        yield server


@pytest.fixture(scope="module")
def aws(config, local) -> Aws:
    return Aws(config, base_session=local.session(localaws.BASE_USER), endpoint_url=local.endpoint)


@pytest.fixture(scope="module")
def admin_s3(local):
    return local.session(localaws.ADMIN_USER).client("s3", endpoint_url=local.endpoint)
