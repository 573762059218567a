"""IAM roles and policies, rendered from the same config the pipeline reads.

Least privilege is expressed with resource ARNs and explicit Deny statements only:
that is what the local AWS server evaluates (it ignores most policy conditions,
session policies and ExternalId), so the tests prove exactly what is written here.
"""

from __future__ import annotations

from dataclasses import dataclass

from datarefresh.config import Config
from datarefresh.errors import ConfigError
from datarefresh.storage.uri import S3Uri

READ_OBJECT = ["s3:GetObject", "s3:GetObjectVersion"]
LIST_BUCKET = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketVersioning", "s3:GetBucketLocation"]
WRITE_OBJECT = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"]


@dataclass(frozen=True)
class Role:
    name: str
    environment: str  # prod, dev, staging
    purpose: str  # reader, writer
    arn: str | None = None  # given in the config for real AWS


def role_name(ref: str) -> str:
    """'arn:aws:iam::1:role/path/name' or 'name' -> 'name'."""
    return ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref


def roles(config: Config) -> list[Role]:
    if config.source is None or not config.source.role:
        raise ConfigError("source.role is needed to render IAM roles", key="source.role")
    out = [
        Role(
            role_name(config.source.role),
            "prod",
            "reader",
            config.source.role if config.source.role.startswith("arn:") else None,
        )
    ]
    for env, e in sorted(config.environments.items()):
        for purpose, ref in (("writer", e.writer_role), ("reader", e.reader_role)):
            if ref:
                out.append(Role(role_name(ref), env, purpose, ref if ref.startswith("arn:") else None))
    return out


def _arns(uri: str) -> tuple[str, str]:
    """(bucket ARN, objects-under-prefix ARN) for an s3:// URI."""
    u = S3Uri.parse(uri)
    prefix = f"{u.prefix}/" if u.prefix else ""
    return f"arn:aws:s3:::{u.bucket}", f"arn:aws:s3:::{u.bucket}/{prefix}*"


def _bucket_arns(uri: str) -> list[str]:
    b = S3Uri.parse(uri).bucket
    return [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"]


def policy_for(role: Role, config: Config) -> dict:
    prod = config.source.uri  # type: ignore[union-attr]
    envs = {name: e.bucket for name, e in config.environments.items()}
    statements: list[dict] = []
    if role.environment == "prod":
        bucket, objects = _arns(prod)
        statements += [
            {"Sid": "ReadProdObjects", "Effect": "Allow", "Action": READ_OBJECT, "Resource": [objects]},
            {"Sid": "ListProd", "Effect": "Allow", "Action": LIST_BUCKET, "Resource": [bucket]},
        ]
        others = list(envs.values())
    else:
        bucket, objects = _arns(envs[role.environment])
        actions = READ_OBJECT + (WRITE_OBJECT if role.purpose == "writer" else [])
        statements += [
            {
                "Sid": f"{role.purpose.capitalize()}{role.environment.capitalize()}Objects",
                "Effect": "Allow",
                "Action": actions,
                "Resource": [objects],
            },
            {
                "Sid": f"List{role.environment.capitalize()}",
                "Effect": "Allow",
                "Action": LIST_BUCKET,
                "Resource": [bucket],
            },
        ]
        if role.purpose == "reader":
            statements.append(
                {
                    "Sid": "ReadersNeverWrite",
                    "Effect": "Deny",
                    "Action": WRITE_OBJECT,
                    "Resource": _bucket_arns(envs[role.environment]),
                }
            )
        others = [uri for name, uri in envs.items() if name != role.environment]
        statements.append(
            {"Sid": "NoProdAccess", "Effect": "Deny", "Action": ["s3:*"], "Resource": _bucket_arns(prod)}
        )
    # Every role: never write or delete in prod, never touch another environment.
    statements.append(
        {"Sid": "NeverWriteProd", "Effect": "Deny", "Action": WRITE_OBJECT, "Resource": _bucket_arns(prod)}
    )
    if others:
        statements.append(
            {
                "Sid": "NoOtherEnvironments",
                "Effect": "Deny",
                "Action": ["s3:*"],
                "Resource": [a for uri in others for a in _bucket_arns(uri)],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def trust_policy(config: Config, principal: str | None = None) -> dict:
    who = principal or config.iam.trusted_principal or f"arn:aws:iam::{config.iam.account_id}:root"
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": who}, "Action": "sts:AssumeRole"}],
    }


def render(config: Config, principal: str | None = None) -> dict:
    """{"roles": [{"name", "environment", "purpose", "trust_policy", "policy"}]}"""
    return {
        "roles": [
            {
                "name": r.name,
                "environment": r.environment,
                "purpose": r.purpose,
                "trust_policy": trust_policy(config, principal),
                "policy": policy_for(r, config),
            }
            for r in roles(config)
        ]
    }
