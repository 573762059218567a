"""One boto3 client per environment role (STS AssumeRole), and S3 error mapping.

The base credentials come from the standard chain (profile, env vars, SSO, instance
role); each job then assumes its environment-scoped role. For the local AWS server
the endpoint comes from the config's `source.endpoint_url` or AWS_ENDPOINT_URL.
Retries with backoff for throttling, 5xx and connection errors are botocore's
"standard" mode; terminal errors are mapped to errors that name role, bucket and key.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from datarefresh.config import Config
from datarefresh.errors import AccessDeniedError, StorageError, TerminalError
from datarefresh.iam import role_name

RETRIES = BotoConfig(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=10, read_timeout=120)
_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "403",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}


class Aws:
    def __init__(
        self, config: Config, base_session: boto3.Session | None = None, endpoint_url: str | None = None
    ):
        self.config = config
        self.base = base_session or boto3.Session()
        src = config.source
        self.endpoint = (
            endpoint_url or (src.endpoint_url if src else None) or os.environ.get("AWS_ENDPOINT_URL")
        )
        self.region = src.region if src else "us-east-1"

    def role_arn(self, ref: str) -> str:
        return ref if ref.startswith("arn:") else f"arn:aws:iam::{self.config.iam.account_id}:role/{ref}"

    @lru_cache(maxsize=32)
    def session(self, role: str) -> boto3.Session:
        """A session whose credentials come from assuming `role`, refreshed before they expire."""
        if self.base.get_credentials() is None:
            raise AccessDeniedError(
                f"no AWS credentials found to assume role {role_name(role)} "
                "(set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
            )

        def sts_client(service, **kwargs):
            return self.base.client(service, endpoint_url=self.endpoint, region_name=self.region, **kwargs)

        fetcher = AssumeRoleCredentialFetcher(
            client_creator=sts_client,
            source_credentials=self.base.get_credentials(),
            role_arn=self.role_arn(role),
            extra_args={"RoleSessionName": f"datarefresh-{role_name(role)}"[:64]},
        )
        core = botocore.session.Session()
        core._credentials = DeferredRefreshableCredentials(
            method="assume-role",  # noqa: SLF001
            refresh_using=fetcher.fetch_credentials,
        )
        return boto3.Session(botocore_session=core, region_name=self.region)

    def s3(self, role: str):
        return self.session(role).client("s3", endpoint_url=self.endpoint, config=RETRIES)


_ABSENT = {"NoSuchKey", "404", "NoSuchVersion"}  # the bucket is there, the object (version) is not
_CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_THROTTLED = {"SlowDown", "Throttling", "RequestTimeout"}


def s3_error_kind(exc: ClientError) -> str:
    """What an S3 client error means: denied, absent (no such object or version), missing (no such
    bucket), conflict (a conditional write lost), transient (5xx, throttling: botocore already
    retried) or refused (anything else)."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in _DENIED or status == 403:
        return "denied"
    if code in _ABSENT:
        return "absent"
    if code == "NoSuchBucket":
        return "missing"
    if code in _CONFLICT:
        return "conflict"
    if status and status >= 500 or code in _THROTTLED:
        return "transient"
    return "refused"


def s3_error(exc: Exception, *, who: str, where: str, action: str, hint: str = "") -> Exception:
    """The one mapping of botocore errors to ours, naming who (a role, an identity), the action and
    where (s3://bucket/key): denied and missing are terminal, throttling and 5xx transient. Anything
    that is not a botocore error comes back as it is. `hint`: what to do when access is denied or no
    credentials are found, as a last sentence."""
    tail = f"; {hint}" if hint else ""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        kind = s3_error_kind(exc)
        if kind == "denied":
            return AccessDeniedError(f"{who} may not {action} {where} ({code or status}){tail}")
        if kind in ("absent", "missing"):
            return TerminalError(f"{where} does not exist ({code}), as {who}")
        if kind == "transient":
            return StorageError(f"S3 kept failing for {where} ({code}) after retries")
        return TerminalError(f"S3 refused to {action} {where} as {who}: {code}")
    if isinstance(exc, NoCredentialsError):
        return AccessDeniedError(f"no AWS credentials found to {action} {where}{tail}")
    if isinstance(exc, (EndpointConnectionError, BotoCoreError)):
        if "AccessDenied" in str(exc) or "not authorized" in str(exc):
            return AccessDeniedError(f"{who} could not be assumed for {where}: {exc}")
        return StorageError(f"cannot reach S3 for {where}: {exc}")
    return exc


@contextmanager
def s3_errors(role: str, bucket: str, key: str | None = None, action: str = "access") -> Iterator[None]:
    """Turn boto errors raised in the block into ours (s3_error), naming role, bucket and key."""
    where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    try:
        yield
    except NoCredentialsError:
        raise AccessDeniedError(f"no AWS credentials found to assume role {role_name(role)}") from None
    except (ClientError, BotoCoreError) as exc:
        raise s3_error(exc, who=f"role {role_name(role)}", where=where, action=action) from None


def subfolders(client, bucket: str, prefix: str) -> list[str]:
    """The names of the "folders" directly under `prefix` (S3 common prefixes), sorted: snapshot ids
    under snapshots/, table folders under the prod root. The caller maps boto errors (s3_errors)."""
    names = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        names |= {p["Prefix"][len(prefix) :].strip("/") for p in page.get("CommonPrefixes", [])}
    return sorted(names)
