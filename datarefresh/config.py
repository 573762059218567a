"""Typed YAML configuration.

Everything the pipeline, the CLI and the DAGs know about sources, environments,
tables and per-column policy comes from here. A bad file fails at load time with
a ConfigError naming the file and the dotted key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from datarefresh.errors import ConfigError

# Actions a column policy may name. The operator registry (datarefresh.anonymize.operators)
# implements each; a test keeps the two lists equal.
ACTIONS = (
    "keep",
    "fake",
    "hmac",
    "mask",
    "redact",
    "null",
    "shift_date",
    "generalize",
    "scrub_text",
    "json",
    "struct",
    "drop",
)

Format = Literal["parquet", "csv", "jsonl"]


class _Model(BaseModel):
    # Unknown keys are typos more often than not: reject them so they are not silently ignored.
    model_config = ConfigDict(extra="forbid")


class Evidence(_Model):
    """Why `plan` chose an action. Informational: the engine never reads it."""

    detector: str
    match_share: float | None = None
    score: float | None = None
    # A short explanation in words (counts and shares, never a value), e.g. why text was kept.
    detail: str | None = None
    values_sampled: int | None = None  # how many (distinct) values the share was measured on


class ColumnPolicy(_Model):
    action: Literal[ACTIONS]  # type: ignore[valid-type]
    entity: str | None = None
    # Arrow type seen by `plan`; sanitize fails closed when the data's type differs.
    type: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    # For action json/struct: dotted path inside the value -> policy for that leaf.
    fields: dict[str, "ColumnPolicy"] = Field(default_factory=dict)
    evidence: Evidence | None = None

    @model_validator(mode="after")
    def _check(self) -> "ColumnPolicy":
        if self.action in ("fake", "hmac") and not self.entity:
            raise ValueError(f"action {self.action!r} needs an entity (e.g. EMAIL_ADDRESS, PERSON, ID)")
        if self.params.get("blank", "keep") not in ("keep", "transform"):
            raise ValueError(
                "params.blank must be keep or transform (empty and whitespace-only texts are kept "
                "as they are unless it says transform)"
            )
        if self.action == "generalize" and self.params.get("to") not in GENERALIZE_TARGETS:
            raise ValueError(f"generalize needs params.to, one of {', '.join(GENERALIZE_TARGETS)}")
        return self


GENERALIZE_TARGETS = ("zip3", "year", "month", "age_band", "decade", "round")


class ForeignKey(_Model):
    column: str
    references: str  # "table.column"
    # What to do in a dev sample with a child whose parent was not sampled.
    on_missing_parent: Literal["drop", "null"] = "drop"
    # follow: the child is sampled after its parent and keeps rows whose parent is in.
    # pull ("upward closure"): the parent is sampled after this child and takes in every
    # row the sampled children reference (for a parent that is a root of its own, e.g. products).
    sampling: Literal["follow", "pull"] = "follow"
    # Why `plan` proposed it (share of sampled child values found in the parent key, name
    # similarity, values sampled). Informational: the reviewer keeps or deletes the key.
    evidence: Evidence | None = None

    @field_validator("references")
    @classmethod
    def _table_dot_column(cls, v: str) -> str:
        if v.count(".") != 1 or not all(v.split(".")):
            raise ValueError(f"must be 'table.column', got {v!r}")
        return v

    @property
    def parent_table(self) -> str:
        return self.references.split(".")[0]

    @property
    def parent_column(self) -> str:
        return self.references.split(".")[1]


class TableSampling(_Model):
    """Dev sample sizing for one table (defaults: the environment's sampling)."""

    fraction: float | None = Field(default=None, gt=0, le=1)
    max_rows: int | None = Field(default=None, gt=0)
    stratify_by: str | None = None  # every value of this column gets at least min_per_stratum rows
    min_per_stratum: int = Field(default=1, ge=1)
    always_include: list[int | str] = Field(default_factory=list)  # primary key values (before anonymization)


class CsvOptions(_Model):
    """How a table's CSV files are written; what is left out is detected from a sample by
    `plan` (which writes what it found here, so a reviewed policy pins it)."""

    delimiter: Literal[",", ";", "\t", "|"] | None = None
    quote: Literal['"', "'", ""] | None = None  # "" for no quoting
    # Fields read as null. Default: only an empty field in a non-text column ("NA" is a value).
    null_values: list[str] = Field(default_factory=lambda: [""])
    decimal: Literal[".", ","] | None = None


class TableConfig(_Model):
    path: str | None = None  # relative to the source URI; defaults to the table name
    sample: TableSampling = Field(default_factory=TableSampling)
    # Columns that together could single a person out (zip, birth date, gender...): every dev
    # row must match at least validation.k_anonymity prod rows on them (see validate/kanon.py).
    quasi_identifiers: list[str] = Field(default_factory=list)
    # Why `plan` proposed each quasi-identifier. Informational: the engine never reads it.
    quasi_identifier_evidence: dict[str, Evidence] = Field(default_factory=dict)
    # Columns named or typed like quasi-identifiers that a reviewer decided are not: a dev sample
    # refuses any other such column left out of quasi_identifiers (detect/quasi.undeclared).
    not_quasi_identifiers: list[str] = Field(default_factory=list)
    format: Format | None = None  # inferred from file extensions when omitted
    encoding: str = "utf-8"  # CSV only
    csv: CsvOptions | None = None  # CSV only: delimiter, quote, null_values, decimal
    primary_key: str | None = None
    primary_key_evidence: Evidence | None = None  # set by `plan` when it found the key from values
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    unknown_columns: Literal["fail", "drop", "classify"] | None = None
    columns: dict[str, ColumnPolicy] = Field(default_factory=dict)


class SamplingConfig(_Model):
    mode: Literal["full", "sample"] = "full"
    fraction: float = Field(default=1.0, gt=0, le=1)
    max_rows: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> "SamplingConfig":
        if self.mode == "full" and (self.fraction != 1.0 or self.max_rows):
            raise ValueError("mode 'full' keeps every row; set mode: sample to use fraction/max_rows")
        return self


class EnvironmentConfig(_Model):
    bucket: str  # s3://bucket[/prefix] or a local folder
    writer_role: str | None = None
    reader_role: str | None = None
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    keep_snapshots: int = Field(default=3, ge=1)

    @property
    def sampled(self) -> bool:
        """A keyed, FK-consistent sample rather than a full copy. It decides the sampler,
        k-anonymity, the row-count, foreign-key and parity gates: nothing keys on a name."""
        return self.sampling.mode == "sample"


# The sampling of an environment the config does not list (a local `sanitize --env dev` with no
# environments section): dev is a 10% sample and any other name a full copy.
UNLISTED_SAMPLING = {"dev": SamplingConfig(mode="sample", fraction=0.1)}


def sampling_for(config: "Config | None", env: str) -> SamplingConfig:
    """The environment's sampling as configured, else UNLISTED_SAMPLING's, else a full copy."""
    if config is not None and env in config.environments:
        return config.environments[env].sampling
    return UNLISTED_SAMPLING.get(env, SamplingConfig())


class SourceConfig(_Model):
    uri: str
    role: str | None = None
    endpoint_url: str | None = None
    region: str = "us-east-1"


class SecretConfig(_Model):
    """Where the pseudonym key comes from. Exactly one of the three."""

    env: str | None = "DATAREFRESH_SECRET"
    file: str | None = None
    airflow_variable: str | None = None

    @model_validator(mode="after")
    def _one(self) -> "SecretConfig":
        explicit = [k for k in ("file", "airflow_variable") if getattr(self, k)]
        if len(explicit) > 1:
            raise ValueError("set only one of env, file, airflow_variable")
        if explicit:
            self.env = None
        return self


class ValidationConfig(_Model):
    """Gates that must pass before an environment's pointer moves."""

    leak_scan: bool = True
    # share of sampled output texts in which the analyzer still finds PII that is not one of our fakes
    text_rescan_max_hit_rate: float = Field(default=0.15, ge=0, le=1)
    # Dev rows are generalized until each matches k prod rows on its table's quasi_identifiers
    # (k-map; k-anonymity in the sample when the unit is too large to hold; null: not checked).
    k_anonymity: int | None = Field(default=2, ge=2)
    # generalize: generalization hierarchies first, then suppression of the rest (least
    # information loss); suppress: blank the quasi-identifiers of small groups; fail: measure only.
    on_k_violation: Literal["fail", "suppress", "generalize"] = "generalize"
    # population: each dev row matches k of the prod rows it was sampled from (k-map, relies on the
    # keyed sample hiding who is in dev); sample: k rows of the dev sample itself (stricter)
    k_against: Literal["population", "sample"] = "population"
    # generalize: share of dev rows that may be suppressed (all quasi-identifiers blanked)
    max_suppression: float = Field(default=0.05, ge=0, le=1)
    # gate: share of dev rows still matching exactly one prod row on their quasi-identifiers
    max_reidentification_risk: float = Field(default=0.05, ge=0, le=1)
    null_rate_tolerance: float = Field(default=0.02, ge=0, le=1)
    # Great Expectations runs on at most this many rows per table (a bounded sample; exact
    # checks - row counts, key nulls, dev foreign keys - are computed on every row)
    sample_rows: int = Field(default=50_000, ge=100)
    expectations_dir: str | None = None  # default: the bundled suites (datarefresh/data/expectations/)
    # environment: any failed gate holds back the whole environment. table: the failing
    # tables keep their published version and the others are published (in dev, also the
    # tables whose foreign keys would no longer resolve against that mix).
    on_failure: Literal["environment", "table"] = "environment"


class IamConfig(_Model):
    # Who may assume the pipeline's roles (trust policies). The local AWS server's base
    # user when omitted there; on real AWS, e.g. the Airflow workers' role ARN.
    trusted_principal: str | None = None
    account_id: str = "123456789012"


class AirflowConfig(_Model):
    """How the DAGs run this config."""

    schedule: str = "0 2 * * *"  # cron; the snapshot's as-of is the run's data interval end
    start_date: str = "2026-01-01"
    owner: str = "data-platform"
    retries: int = Field(default=3, ge=0)
    pool: str = "datarefresh_s3"  # bounds concurrent S3 work across runs
    pool_slots: int = Field(default=4, ge=1)
    is_paused_upon_creation: bool = True  # Airflow's default; the demo config unpauses, so a trigger runs


class Config(_Model):
    version: Literal[1] = 1
    airflow: AirflowConfig = Field(default_factory=AirflowConfig)
    secret: SecretConfig = Field(default_factory=SecretConfig)
    iam: IamConfig = Field(default_factory=IamConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    source: SourceConfig | None = None
    # Any names (dev, staging, qa, perf...): each environment's behaviour comes from its sampling.mode.
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)
    unknown_columns: Literal["fail", "drop", "classify"] = "fail"
    # A table folder in the source that no configured table reads: fail (default) or skip; named either way.
    unknown_tables: Literal["fail", "skip"] = "fail"
    tables: dict[str, TableConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _environment_names(self) -> "Config":
        for name in self.environments:
            if name == "prod":
                raise _KeyedError(
                    f"environments.{name}",
                    "prod is the source (source.uri), not an environment sanitized copies are published to",
                )
            if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
                raise _KeyedError(
                    f"environments.{name}",
                    "an environment name is lower-case letters, "
                    "digits, - and _ (it names folders, roles and DAG params)",
                )
        return self

    @model_validator(mode="after")
    def _foreign_keys_resolve(self) -> "Config":
        for name, table in self.tables.items():
            for i, fk in enumerate(table.foreign_keys):
                parent = self.tables.get(fk.parent_table)
                if parent is None:
                    raise _KeyedError(
                        f"tables.{name}.foreign_keys.{i}.references", f"unknown table {fk.parent_table!r}"
                    )
                if parent.columns and fk.parent_column not in parent.columns:
                    raise _KeyedError(
                        f"tables.{name}.foreign_keys.{i}.references",
                        f"table {fk.parent_table!r} has no column {fk.parent_column!r}",
                    )
        return self

    @model_validator(mode="after")
    def _quasi_identifiers_are_columns(self) -> "Config":
        """A misspelt quasi-identifier would go unprotected; a key one would break joins."""
        for name, table in self.tables.items():
            keys = {table.primary_key} | {fk.column for fk in table.foreign_keys}
            for i, q in enumerate(table.quasi_identifiers):
                where = f"tables.{name}.quasi_identifiers.{i}"
                if q in keys:
                    raise _KeyedError(where, f"{q!r} is a key column: generalizing it would break joins")
                if table.columns and q not in table.columns and self.unknown_columns_for(name) != "classify":
                    raise _KeyedError(where, f"{q!r} is not a column of table {name!r}")
            for i, q in enumerate(table.not_quasi_identifiers):  # a misspelt one would refuse nothing
                where = f"tables.{name}.not_quasi_identifiers.{i}"
                if q in table.quasi_identifiers:
                    raise _KeyedError(where, f"{q!r} is in quasi_identifiers too")
                if table.columns and q not in table.columns and self.unknown_columns_for(name) != "classify":
                    raise _KeyedError(where, f"{q!r} is not a column of table {name!r}")
        return self

    def unknown_columns_for(self, table: str) -> str:
        t = self.tables.get(table)
        return t.unknown_columns if t and t.unknown_columns else self.unknown_columns


class _KeyedError(ValueError):
    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_config(data: Any, *, file: str = "<config>") -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", file=file)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, _KeyedError):
            raise ConfigError(str(ctx_err), file=file, key=ctx_err.key) from None
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # Literal unions add the literal to the location; drop it for a readable key.
        loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("literal[")))
        msg = err["msg"].removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise ConfigError(msg + more, file=file, key=_dotted(loc)) from None


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from None
    import yaml  # imported where a file is read: a run without a config file does not pay for it

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"invalid YAML{where}: {getattr(exc, 'problem', exc)}", file=str(path)) from None
    return parse_config(data, file=str(path))


def bundled_demo_config() -> Config:
    """The embedded default used when a command gets no --config."""
    return load_config(Path(__file__).parent / "data" / "demo_config.yaml")


CONFIG_ENV = "DATAREFRESH_CONFIG"


def resolve_config(path: str | Path | None = None) -> Config:
    """The one way every entry point (CLI, DAG, tasks) finds its config: the path given, else
    the file DATAREFRESH_CONFIG names, else the bundled demo config."""
    path = path or os.environ.get(CONFIG_ENV)
    return load_config(path) if path else bundled_demo_config()


def policy_to_yaml(tables: dict[str, TableConfig]) -> str:
    """Render the tables section (as `plan` writes it) so that load_config reads it back."""
    import yaml

    doc = {
        "tables": {name: t.model_dump(exclude_none=True, exclude_defaults=True) for name, t in tables.items()}
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
