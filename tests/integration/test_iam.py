"""Every role x every bucket x get/put/list/delete against the enforcing server."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError

from datarefresh.devtools import localaws
from datarefresh.errors import AccessDeniedError
from datarefresh.iam import render

BUCKETS = {"prod": "datarefresh-prod", "dev": "datarefresh-dev", "staging": "datarefresh-staging"}
PREFIX = {"prod": "raw/", "dev": "", "staging": ""}
OPS = ("get", "put", "list", "delete")

# role -> bucket -> the operations it may do; everything else must be denied
ALLOWED = {
    "datarefresh-prod-reader": {"prod": {"get", "list"}},
    "datarefresh-dev-writer": {"dev": {"get", "put", "list", "delete"}},
    "datarefresh-staging-writer": {"staging": {"get", "put", "list", "delete"}},
    "datarefresh-dev-reader": {"dev": {"get", "list"}},
    "datarefresh-staging-reader": {"staging": {"get", "list"}},
}


@pytest.fixture(scope="module")
def probes(admin_s3):
    for env, bucket in BUCKETS.items():
        admin_s3.put_object(Bucket=bucket, Key=f"{PREFIX[env]}probe/object", Body=b"probe")
    return BUCKETS


def _attempt(s3, op: str, bucket: str, key_prefix: str, role: str) -> bool:
    try:
        if op == "get":
            s3.get_object(Bucket=bucket, Key=f"{key_prefix}probe/object")["Body"].read()
        elif op == "put":
            s3.put_object(Bucket=bucket, Key=f"{key_prefix}probe/put-{role}", Body=b"x")
        elif op == "list":
            s3.list_objects_v2(Bucket=bucket, Prefix=key_prefix)
        elif op == "delete":
            s3.delete_object(Bucket=bucket, Key=f"{key_prefix}probe/put-{role}")
        return True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("AccessDenied", "403"), exc
        return False


def test_the_rendered_roles_are_the_ones_on_the_server(config, local):
    rendered = {r["name"] for r in render(config)["roles"]}
    assert rendered == set(ALLOWED) == set(local.state["roles"])


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_role_matrix(role, aws, probes):
    s3 = aws.s3(role)
    got = {
        (env, op): _attempt(s3, op, bucket, PREFIX[env], role) for env, bucket in probes.items() for op in OPS
    }
    want = {(env, op): op in ALLOWED[role].get(env, set()) for env in probes for op in OPS}
    assert got == want


def test_no_role_can_write_or_delete_prod(aws, probes):
    for role in ALLOWED:
        s3 = aws.s3(role)
        assert not _attempt(s3, "put", probes["prod"], "raw/", role)
        assert not _attempt(s3, "delete", probes["prod"], "raw/", role)


def test_the_base_user_reads_nothing_by_itself(local, probes):
    s3 = local.session(localaws.BASE_USER).client("s3", endpoint_url=local.endpoint)
    for env, bucket in probes.items():
        assert not _attempt(s3, "get", bucket, PREFIX[env], "base")
        assert not _attempt(s3, "list", bucket, PREFIX[env], "base")


def test_unknown_and_revoked_credentials_are_denied(local, admin_s3, probes):
    unknown = boto3.client(
        "s3",
        endpoint_url=local.endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAUNKNOWN000000000",
        aws_secret_access_key="nope",
    )
    with pytest.raises(ClientError) as err:
        unknown.list_objects_v2(Bucket=probes["dev"])
    assert err.value.response["Error"]["Code"] in ("InvalidAccessKeyId", "AccessDenied", "403")
    keys = local.state["users"][localaws.BASE_USER]
    tampered = boto3.client(
        "s3",
        endpoint_url=local.endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["access_key_id"],
        aws_secret_access_key="wrong-secret",
    )
    with pytest.raises(ClientError) as err:
        tampered.list_objects_v2(Bucket=probes["dev"])
    assert err.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "AccessDenied", "403")
    # a revoked key: created, then deleted by the admin
    iam = local.session(localaws.ADMIN_USER).client("iam", endpoint_url=local.endpoint)
    iam.create_user(UserName="revoked")
    key = iam.create_access_key(UserName="revoked")["AccessKey"]
    iam.put_user_policy(
        UserName="revoked",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    revoked = boto3.client(
        "s3",
        endpoint_url=local.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    revoked.list_objects_v2(Bucket=probes["dev"])  # works while the key exists
    iam.delete_access_key(UserName="revoked", AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError):
        revoked.list_objects_v2(Bucket=probes["dev"])


def test_trust_policy_only_admits_the_base_principal(local, config):
    iam = local.session(localaws.ADMIN_USER).client("iam", endpoint_url=local.endpoint)
    iam.create_user(UserName="intruder")
    iam.put_user_policy(
        UserName="intruder",
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="intruder")["AccessKey"]
    sts = boto3.client(
        "sts",
        endpoint_url=local.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    with pytest.raises(ClientError) as err:
        sts.assume_role(
            RoleArn=local.state["roles"]["datarefresh-prod-reader"]["arn"], RoleSessionName="intruder"
        )
    assert err.value.response["Error"]["Code"] == "AccessDenied"


def test_denials_become_clear_terminal_errors(aws, probes):
    from datarefresh.storage.publish import Publisher

    with pytest.raises(
        AccessDeniedError, match=r"role datarefresh-dev-reader may not write s3://datarefresh-dev/"
    ):
        Publisher(
            aws.s3("datarefresh-dev-reader"), "datarefresh-dev-reader", "s3://datarefresh-dev"
        ).write_manifest("x", {})


def test_profiles_file_works_for_every_role(local, probes):
    """The AWS config written by `localaws up` assumes each role through the base profile."""
    code = (
        "import boto3,sys; s=boto3.Session(profile_name=sys.argv[1]);"
        "print(s.client('sts').get_caller_identity()['Arn'])"
    )
    env = local.env()
    for role in ALLOWED:
        out = subprocess.run(
            [sys.executable, "-c", code, role], env=env, capture_output=True, text=True, check=True
        )
        assert f"assumed-role/{role}/" in out.stdout
