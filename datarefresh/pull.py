"""`datarefresh pull` and `datarefresh status`: a developer's view of the environments.

Credentials come from the standard AWS chain (profile, env vars, SSO); nothing is
assumed on the user's behalf, so a developer pulls with their own dev-reader identity.

Local layout: DEST/current -> DEST/.snapshots/<snapshot-id>/<table>/part-*.parquet.
A pull downloads into DEST/.snapshots/<id>.partial/, verifies every file's size and
sha256 against the manifest, and only then renames it complete and swaps the
`current` symlink (an atomic rename): readers see the old complete copy or the new
one, never a mix. An interrupted pull resumes: verified files are kept. Files whose
checksum is unchanged since the last pull are hard-linked instead of downloaded.
Each copy records (`.pull.json`) which snapshot every table comes from and the size and
mtime of every file when it was verified: a pull of the same snapshot re-checks the copy
and downloads again what was damaged; `--tables` replaces those tables only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from datarefresh.aws import RETRIES, s3_error, s3_error_kind, subfolders
from datarefresh.config import Config
from datarefresh.errors import InputError, StorageError, TerminalError
from datarefresh.iam import role_name
from datarefresh.storage.publish import KEY_FINGERPRINT, POINTER, REPORTS, SNAPSHOTS, sha256_file
from datarefresh.storage.uri import S3Uri


class ChecksumError(TerminalError):
    pass


@dataclass
class EnvClient:
    env: str
    uri: S3Uri
    client: object
    needed_role: str | None

    def get(self, key: str, action: str = "read") -> bytes:
        """An object's bytes; an absent one raises botocore's ClientError (callers read it as None)."""
        try:
            return self.client.get_object(Bucket=self.uri.bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
        except ClientError as exc:
            if s3_error_kind(exc) == "absent":
                raise
            raise self.error(exc, f"s3://{self.uri.bucket}/{key}", action) from None
        except BotoCoreError as exc:
            raise self.error(exc, f"s3://{self.uri.bucket}/{key}", action) from None

    def error(self, exc: Exception, where: str, action: str) -> Exception:
        """aws.s3_error, worded for a developer's own credentials: who they are, which role reads
        the environment."""
        if isinstance(exc, NoCredentialsError):
            return s3_error(
                exc,
                who="",
                where=where,
                action=action,
                hint=(
                    "set AWS_PROFILE (e.g. datarefresh-dev-reader), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                    "or log in with SSO"
                ),
            )
        role = self.needed_role or "(its reader role)"
        return s3_error(
            exc,
            who=_identity(self.client),
            where=where,
            action=action,
            hint=f"the {self.env} environment is read with role {role}",
        )


def _identity(s3_client) -> str:
    """Who we are, for error messages (the role name of an assumed-role ARN)."""
    try:
        session = boto3.Session()
        arn = session.client("sts", endpoint_url=os.environ.get("AWS_ENDPOINT_URL")).get_caller_identity()[
            "Arn"
        ]
        if ":assumed-role/" in arn:
            return f"role {arn.split(':assumed-role/')[1].split('/')[0]}"
        return arn
    except Exception:  # noqa: BLE001 - only used to word an error
        return "these credentials"


def env_client(config: Config, env: str, session: boto3.Session | None = None) -> EnvClient:
    if env not in config.environments:
        raise TerminalError(
            f"environment {env!r} is not in the config (have: {', '.join(sorted(config.environments))})"
        )
    e = config.environments[env]
    session = session or boto3.Session()
    client = session.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"), config=RETRIES)
    return EnvClient(env, S3Uri.parse(e.bucket), client, role_name(e.reader_role) if e.reader_role else None)


def _json(ec: EnvClient, key: str) -> dict | None:
    try:
        return json.loads(ec.get(key))
    except ClientError:
        return None


def resolve_manifest(ec: EnvClient, snapshot: str | None = None, as_of: str | None = None) -> dict:
    if snapshot:
        m = _json(ec, ec.uri.key(SNAPSHOTS, snapshot, "_manifest.json"))
        if m is None:
            raise TerminalError(f"no snapshot {snapshot} in s3://{ec.uri.bucket}")
        return m
    pointer = _json(ec, ec.uri.key(POINTER))
    if pointer is None:
        raise TerminalError(
            f"no snapshot published yet in {ec.uri} ({ec.env}); run `datarefresh refresh` first"
        )
    if as_of:
        from datarefresh.refresh.plan import parse_as_of

        limit = parse_as_of(as_of)
        candidates = [s for s in _snapshot_ids(ec) if _id_time(s) and _id_time(s) <= limit]
        if not candidates:
            raise TerminalError(f"no snapshot as of {as_of} or earlier in {ec.uri}")
        return resolve_manifest(ec, snapshot=candidates[-1])
    m = _json(ec, pointer["manifest"])
    if m is None:
        raise TerminalError(f"the pointer of {ec.uri} names a missing manifest {pointer['manifest']}")
    return m


def _id_time(snapshot_id: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(snapshot_id.split("-")[0], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=dt.timezone.utc
        )
    except ValueError:
        return None


def _snapshot_ids(ec: EnvClient, root: str = SNAPSHOTS) -> list[str]:
    try:
        return subfolders(ec.client, ec.uri.bucket, ec.uri.key(root) + "/")
    except (ClientError, BotoCoreError) as exc:
        raise ec.error(exc, str(ec.uri), "list") from None


STATE = ".pull.json"  # in each local copy: where every table comes from, and what was verified
IN_PROGRESS = ".pull-in-progress"  # in DEST while a pull runs: left behind, the next pull re-hashes


def _local_rel(key: str) -> str:
    """A file's path below its table folder: `part-...parquet` or `dt=.../part-...parquet`."""
    return ("/" + key).split(f"/{SNAPSHOTS}/", 1)[-1].split("/", 2)[-1]


def _read_state(copy: Path | None) -> dict:
    try:
        return json.loads((copy / STATE).read_text()) if copy else {}
    except (OSError, ValueError):
        return {}  # no or unreadable record: every file gets hashed


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _intact(path: Path, f: dict, known: dict, verify: bool) -> bool:
    """Size always; sha256 when asked, or when the file changed since it was last verified."""
    stat = _stat(path)
    if stat is None or stat[0] != f["size"]:
        return False
    if not verify and known.get(f["key"]) == stat:
        return True
    return sha256_file(path) == f["sha256"]


def pull(
    config: Config,
    env: str = "dev",
    dest: str | Path = "./data",
    tables: tuple[str, ...] | None = None,
    snapshot: str | None = None,
    as_of: str | None = None,
    session: boto3.Session | None = None,
    workers: int = 8,
    quiet: bool = False,
    verify: bool = False,
) -> dict:
    """Make DEST/current the environment's snapshot (or, with `tables`, those tables of it, the
    others staying as they were). Every kept file is checked (size, and sha256 when it changed
    since it was verified, with `verify`, or after an interrupted pull); a damaged one is
    downloaded again."""
    ec = env_client(config, env, session)
    manifest = resolve_manifest(ec, snapshot, as_of)
    sid = manifest["snapshot_id"]
    unknown = set(tables or ()) - set(manifest["tables"])
    if unknown:
        raise InputError(
            f"snapshot {sid} has no table(s) {', '.join(sorted(unknown))}; it has "
            f"{', '.join(sorted(manifest['tables']))}",
            file=str(ec.uri),
        )
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    snaps = dest / ".snapshots"
    current = dest / "current"
    marker = dest / IN_PROGRESS
    previous = current.resolve() if current.is_symlink() and current.exists() else None
    prev_state = _read_state(previous)
    if tables:
        _check_kept_tables(ec, manifest, prev_state, set(tables), current)
    verify = verify or marker.exists()  # the last pull was interrupted: trust no size alone
    marker.touch()
    known = {f["key"]: f.get("stat") for t in prev_state.get("tables", {}).values() for f in t["files"]}
    # what the copy will hold: the chosen tables of this snapshot, and with --tables the others as they are
    target = {
        t: {
            "snapshot_id": sid,
            "as_of": v.get("as_of", manifest["as_of"]),
            "rows": v["rows"],
            KEY_FINGERPRINT: manifest.get(KEY_FINGERPRINT),
            "files": [
                {"key": f["key"], "path": _local_rel(f["key"]), "size": f["size"], "sha256": f["sha256"]}
                for f in v["files"]
            ],
        }
        for t, v in manifest["tables"].items()
        if not tables or t in tables
    }
    if tables:
        for t, v in prev_state.get("tables", {}).items():
            if t not in target and manifest.get(KEY_FINGERPRINT):  # checked above: the same key
                v.setdefault(KEY_FINGERPRINT, manifest[KEY_FINGERPRINT])
            target.setdefault(t, v)
    full = set(target) == set(manifest["tables"]) and all(v["snapshot_id"] == sid for v in target.values())
    name = (
        sid
        if full
        else f"{sid}-"
        + hashlib.sha256(
            json.dumps({t: v["snapshot_id"] for t, v in sorted(target.items())}).encode()
        ).hexdigest()[:8]
    )
    final = snaps / name
    result = {
        "environment": env,
        "snapshot_id": sid,
        "as_of": manifest["as_of"],
        "dest": str(current),
        "tables": {t: v["rows"] for t, v in sorted(target.items())},
        "tables_from": {t: v["snapshot_id"] for t, v in sorted(target.items())},
        "downloaded_files": 0,
        "downloaded_bytes": 0,
        "reused_files": 0,
        "repaired_files": 0,
        "verified": "sha256" if verify else "size",
    }
    in_place = previous is not None and previous == final.resolve()
    work = final if in_place else final.with_name(final.name + ".partial")
    work.mkdir(parents=True, exist_ok=True)
    todo = []
    for t, v in target.items():
        for f in v["files"]:
            target_path = work / t / f["path"]
            target_path.parent.mkdir(parents=True, exist_ok=True)
            if target_path.exists() and _intact(target_path, f, known if in_place else {}, verify):
                result["reused_files"] += 1  # already there and verified (or resumed)
                continue
            if in_place:
                result["repaired_files"] += 1  # damaged or missing in the current copy: fetched again below
            else:
                old = previous / t / f["path"] if previous else None
                if old and old.exists() and _intact(old, f, known, verify):
                    target_path.unlink(missing_ok=True)
                    os.link(old, target_path)  # unchanged since the last pull
                    result["reused_files"] += 1
                    continue
            todo.append((target_path, f))
    from datarefresh.progress import ProgressBar

    progress = ProgressBar(
        f"{env} {sid}", sum(f["size"] for _, f in todo), in_bytes=True, quiet=quiet or not todo
    )  # nothing to download: nothing to show

    def fetch(target_path: Path, f: dict) -> int:
        for attempt in (1, 2):
            data = ec.get(f["key"])
            if len(data) == f["size"] and hashlib.sha256(data).hexdigest() == f["sha256"]:
                tmp = target_path.with_name(target_path.name + ".tmp")
                tmp.write_bytes(data)
                tmp.replace(target_path)  # atomic: a reader of the current copy sees old or new bytes
                return len(data)
            if attempt == 2:
                raise ChecksumError(
                    f"s3://{ec.uri.bucket}/{f['key']} does not match the manifest of "
                    f"{sid} (size {len(data)} vs {f['size']}, or sha256) after a second download"
                )
        return 0

    with progress, ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(fetch, target_path, f): f for target_path, f in todo}
        for fut in as_completed(futures):
            n = fut.result()
            result["downloaded_files"] += 1
            result["downloaded_bytes"] += n
            progress.advance(n, note=f"{result['downloaded_files']}/{len(todo)} files")
    for t, v in target.items():  # what was verified now: a later pull hashes only what changed since
        for f in v["files"]:
            f["stat"] = _stat(work / t / f["path"])
    (work / STATE).write_text(json.dumps({"environment": env, "tables": target}, indent=1))
    if not in_place:
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
        link = dest / ".current.tmp"
        link.unlink(missing_ok=True)
        link.symlink_to(final.relative_to(dest))
        link.replace(current)  # atomic swap
        for old in snaps.iterdir():  # keep only what `current` points at (and unfinished pulls)
            if old != final and not old.name.endswith(".partial"):
                shutil.rmtree(old, ignore_errors=True)
    marker.unlink(missing_ok=True)
    return result


def _check_kept_tables(
    ec: EnvClient, manifest: dict, prev_state: dict, tables: set[str], current: Path
) -> None:
    """`--tables` keeps the copy's other tables: they must be of the same environment and made
    with the same key as this snapshot, or their keys would not join the new tables (after a
    key rotation every pseudonym changed)."""
    kept = {t: v for t, v in prev_state.get("tables", {}).items() if t not in tables}
    if not kept:
        return
    if prev_state.get("environment") not in (None, ec.env):
        raise TerminalError(
            f"{current} is a copy of {prev_state['environment']}, not {ec.env}: --tables would mix "
            f"the two; pull every table (without --tables) into another --dest"
        )
    # None: a snapshot published before manifests recorded the key; it matches only tables that
    # recorded none either (nothing to compare), never one that recorded a key
    want = manifest.get(KEY_FINGERPRINT)
    other = []
    for t, v in sorted(kept.items()):
        if KEY_FINGERPRINT in v:
            have = v[KEY_FINGERPRINT]
        else:  # a copy pulled before the state recorded it: its snapshot's manifest says
            try:
                have = resolve_manifest(ec, snapshot=v["snapshot_id"]).get(KEY_FINGERPRINT)
            except TerminalError:
                have = None  # that snapshot is gone: the key cannot be told, so not trusted
        if have != want:
            other.append(t)
    if other:
        raise TerminalError(
            f"the local copy's {', '.join(other)} come from a snapshot of {ec.env} made with another "
            f"(or an unrecorded) key than {manifest['snapshot_id']} (the environment was re-keyed "
            "since): their keys would not join the tables pulled now; pull every table (without --tables)"
        )


def _caller(session: boto3.Session) -> str:
    try:
        return session.client("sts", endpoint_url=os.environ.get("AWS_ENDPOINT_URL")).get_caller_identity()[
            "Arn"
        ]
    except (ClientError, NoCredentialsError):
        return "these credentials"
    except Exception:  # noqa: BLE001 - only used to word the output
        return "these credentials"


def _status_reader(config: Config, env: str, session: boto3.Session, caller: str) -> tuple[EnvClient, str]:
    """How status reads `env`: its reader role assumed from the caller's credentials (the base
    profile `localaws up` exports, or an SSO identity the role trusts), or else the caller's own
    credentials (a profile that already is that reader role, or one with read access)."""
    ec = env_client(config, env, session)
    role = config.environments[env].reader_role
    if not role or f":assumed-role/{role_name(role)}/" in caller:
        return ec, f"as {_short(caller)}"
    from datarefresh.aws import Aws

    aws = Aws(config, base_session=session, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    try:
        creds = session.client("sts", endpoint_url=aws.endpoint, region_name=aws.region).assume_role(
            RoleArn=aws.role_arn(role), RoleSessionName=f"datarefresh-status-{env}"[:64]
        )["Credentials"]
    except (ClientError, NoCredentialsError):
        return ec, f"as {_short(caller)} (it may not assume {role_name(role)})"
    assumed = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=aws.region,
    )
    client = assumed.client("s3", endpoint_url=aws.endpoint, config=RETRIES)
    return EnvClient(env, ec.uri, client, ec.needed_role), f"as role {role_name(role)}"


def _short(arn: str) -> str:
    if ":assumed-role/" in arn:
        return "role " + arn.split(":assumed-role/")[1].split("/")[0]
    return arn.rsplit(":", 1)[-1] if arn.startswith("arn:") else arn


def status(
    config: Config, envs: tuple[str, ...] = ("dev", "staging"), session: boto3.Session | None = None
) -> dict:
    """Each environment's pointer and newest run, read with its reader role where the caller may
    assume it. An environment these credentials may not read is marked (`readable: False` and
    why), not an error: a developer's dev-reader profile sees dev and is told about staging."""
    out = {}
    now = dt.datetime.now(dt.timezone.utc)
    session = session or boto3.Session()
    caller = _caller(session)
    for env in envs:
        ec, read_as = _status_reader(config, env, session, caller)
        entry: dict = {"bucket": str(ec.uri), "read_as": read_as, "readable": True}
        try:
            pointer = _json(ec, ec.uri.key(POINTER))
            runs = _snapshot_ids(ec, REPORTS)
        except (TerminalError, StorageError) as exc:  # denied, no such bucket, S3 still failing: marked,
            # the other environments shown
            entry.update(readable=False, snapshot_id=None, reason=str(exc))
            out[env] = entry
            continue
        if pointer:
            as_of = dt.datetime.fromisoformat(pointer["as_of"])
            entry.update(
                snapshot_id=pointer["snapshot_id"],
                as_of=pointer["as_of"],
                age_hours=round((now - as_of).total_seconds() / 3600, 1),
                tables=pointer["tables"],
                published_at=pointer.get("published_at"),
            )
        else:
            entry["snapshot_id"] = None
        if runs:
            last = runs[-1]
            rep = _json(ec, ec.uri.key(REPORTS, last, "report.json")) or {}
            r = rep.get("environments", {}).get(env, {})
            entry["last_run"] = {
                "snapshot_id": last,
                "published": r.get("published"),
                "reason": r.get("reason"),
                "report": f"s3://{ec.uri.bucket}/{ec.uri.key(REPORTS, last, 'report.html')}",
            }
        out[env] = entry
    return out
