"""One table of a run, summed over its work units: what the publish gates check and what the run
report shows. Built by the run (refresh.publish.publish_run) from the units' results; counts, names and
findings only, never a value. Its `summary()` (TableSummary) is the table's entry in the run
report: serialized into report.json, and read back from it by the HTML page (report/)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Typed(BaseModel):
    """Data handed between the steps of a run: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class EnvOutput(Typed):
    """What a unit (or, summed, a whole table) wrote to one environment."""

    rows: int
    files: list[dict]
    columns: list[str]
    pk_nulls: int
    k_anonymity: dict | None = None


class ColumnAction(Typed):
    """A column's policy as the report names it."""

    action: str
    entity: str | None = None


class TableSummary(BaseModel):
    """A table's entry in the run report (report.json), as the HTML page reads it. Keys an older
    report may add are ignored, not refused: a report is read, never trusted to decide."""

    model_config = ConfigDict(extra="ignore")

    rows_in: int
    rows_out: dict[str, int] = Field(default_factory=dict)
    seconds: dict[str, float] = Field(default_factory=dict)
    text_entities: dict[str, int] = Field(default_factory=dict)
    leaks: dict | None = None
    k_anonymity: dict | None = None
    columns: dict[str, ColumnAction] = Field(default_factory=dict)


class TableReport(Typed):
    rows_in: int = 0
    seconds: dict[str, float] = Field(default_factory=dict)  # per step, summed over the units
    text_entities: dict[str, int] = Field(default_factory=dict)  # entity -> spans replaced in free text
    prod_nulls: dict[str, int] = Field(default_factory=dict)  # column -> null cells in prod
    blanks: dict[str, list[int]] = Field(default_factory=dict)  # column -> [empty in prod, in the output]
    leaks: dict | None = None  # the leak scan: findings, scanned, originals, text_rescan
    k_anonymity: dict | None = None  # over the units, before the environments split
    envs: dict[str, EnvOutput] = Field(default_factory=dict)
    expected_columns: list[str] = Field(default_factory=list)  # schema parity: prod's columns, in order
    columns: dict[str, ColumnAction] = Field(default_factory=dict)

    @property
    def rows_out(self) -> dict[str, int]:
        return {e: x.rows for e, x in self.envs.items()}

    def summary(self) -> TableSummary:
        """The table's entry in the run report."""
        return TableSummary(
            rows_in=self.rows_in,
            rows_out=self.rows_out,
            seconds={k: round(x, 3) for k, x in self.seconds.items()},
            text_entities=self.text_entities,
            leaks=self.leaks,
            k_anonymity=self.k_anonymity,
            columns=self.columns,
        )
