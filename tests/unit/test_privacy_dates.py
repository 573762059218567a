"""Dates shifted without a fingerprint: the timestamp-log attack of issue 15.

The attacker holds the shifted output and a log of the real timestamps (every ticket's
creation time, e.g. from a mail or web server). With whole-day offsets the time of day
survives, so a shifted row matches "its" log entry uniquely: same time of day, at most
max_days away. The share of rows so matched to their true timestamp must drop to ~0.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from datarefresh.anonymize.engine import TableTransformer
from datarefresh.config import TableConfig
from datarefresh.errors import PolicyError

MAX_DAYS = 15
DAY_MS = 86_400_000


def _tickets(n=3000, customers=600, seed=11):
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-01-01T00:00:00", "ms").astype(np.int64)
    real = start + rng.integers(0, 365 * DAY_MS // 1000, n) * 1000  # second precision, as logs are
    return pa.record_batch(
        {
            "ticket_id": np.arange(n),
            "customer_id": rng.integers(0, customers, n),
            "created_at": pa.array(real, pa.timestamp("ms")),
        }
    )


def _shift(batch, keyring, **params):
    policy = TableConfig(
        primary_key="ticket_id",
        columns={
            "ticket_id": {"action": "keep"},
            "customer_id": {"action": "hmac", "entity": "ID:customer_id"},
            "created_at": {
                "action": "shift_date",
                "params": {"by": "customer_id", "max_days": MAX_DAYS} | params,
            },
        },
    )
    out = TableTransformer("tickets", policy, batch.schema, keyring).transform(batch)
    return out.column("created_at").cast(pa.int64()).to_numpy()


def _in_log(values: np.ndarray, log_sorted: np.ndarray) -> np.ndarray:
    i = np.minimum(np.searchsorted(log_sorted, values), len(log_sorted) - 1)
    return log_sorted[i] == values


def _log_match_share(shifted: np.ndarray, real: np.ndarray) -> float:
    """Share of rows whose only log candidate (same time of day, 1..MAX_DAYS days away) is their real time."""
    log = np.sort(real)
    k = np.array([k for k in range(-MAX_DAYS, MAX_DAYS + 1) if k])
    candidates = shifted[:, None] + k[None, :] * DAY_MS
    found = _in_log(candidates, log)
    unique = found.sum(axis=1) == 1
    truth = (candidates == real[:, None]) & found
    return float(np.mean(unique & truth.any(axis=1)))


def _interval_match_share(shifted, real, customers) -> float:
    """A stronger attacker: per customer (3+ rows), an offset under which every shifted row is in the log."""
    log = np.sort(real)
    won = total = 0
    for c in np.unique(customers):
        rows = np.flatnonzero(customers == c)
        if len(rows) < 3:
            continue
        total += 1
        s0 = shifted[rows[0]]
        near = log[np.abs(s0 - log) <= MAX_DAYS * DAY_MS]
        offsets = np.unique(s0 - near)
        fits = offsets[_in_log(shifted[rows][:, None] - offsets[None, :], log).all(axis=0)]
        won += fits.tolist() == [s0 - real[rows[0]]]
    return won / total


def test_timestamp_log_attack_drops_from_most_rows_to_none(keyring):
    batch = _tickets()
    real = batch.column("created_at").cast(pa.int64()).to_numpy()
    rng = np.random.default_rng(5)
    whole_days = rng.integers(1, MAX_DAYS + 1, 600) * rng.choice([-1, 1], 600)  # yesterday's shift_date
    days_only = real + whole_days[batch.column("customer_id").to_numpy()] * DAY_MS
    baseline = _log_match_share(days_only, real)
    assert baseline > 0.8  # the attack works on whole-day offsets (the issue measured 89.7%)
    shifted = _shift(batch, keyring)
    assert np.all(np.abs(shifted - real) <= MAX_DAYS * DAY_MS) and np.all(shifted != real)
    assert np.mean((shifted - real) % DAY_MS == 0) < 0.01  # the time of day moved too
    share = _log_match_share(shifted, real)
    assert share < 0.01, f"{share:.1%} of shifted rows still match their real timestamp uniquely"


def test_keep_intervals_keeps_them_and_jitter_blurs_them(keyring):
    batch = _tickets()
    real = batch.column("created_at").cast(pa.int64()).to_numpy()
    customers = batch.column("customer_id").to_numpy()
    kept = _shift(batch, keyring, keep_intervals=True)
    for c in np.unique(customers):  # every customer's rows moved by one offset: intervals exact
        rows = np.flatnonzero(customers == c)
        assert len(set((kept[rows] - real[rows]).tolist())) == 1
    # the residual risk of exact intervals, measured: a customer's pattern is found in the log
    assert _interval_match_share(kept, real, customers) > 0.9
    jittered = _shift(batch, keyring, jitter=3600)
    assert np.array_equal(jittered, _shift(batch, keyring, jitter=3600))  # deterministic
    assert np.all(np.abs(jittered - kept) <= 3600 * 1000)  # within the bound around the entity's offset
    assert np.mean(jittered != kept) > 0.99
    assert _interval_match_share(jittered, real, customers) < 0.01


@pytest.mark.parametrize(
    "params, words",
    [
        ({"keep_intervals": True, "jitter": 60}, "cannot take params.jitter"),
        ({"keep_intervals": True, "by": None}, "keep_intervals needs params.by"),
        ({"jitter": -1}, "jitter must be a number >= 0"),
        ({"max_days": 0}, "max_days must be a whole number"),
    ],
)
def test_bad_shift_params_are_refused(keyring, params, words):
    batch = _tickets(n=10)
    with pytest.raises(PolicyError, match="column created_at") as err:
        _shift(batch, keyring, **params)
    assert words in str(err.value)


def test_dates_move_by_whole_days_with_jitter_in_days(keyring):
    days = pa.array(np.arange(18000, 18400, dtype=np.int32), pa.date32())
    batch = pa.record_batch(
        {"ticket_id": np.arange(400), "customer_id": np.arange(400) % 40, "created_at": days}
    )
    policy = TableConfig(
        columns={
            "ticket_id": {"action": "keep"},
            "customer_id": {"action": "keep"},
            "created_at": {
                "action": "shift_date",
                "params": {"by": "customer_id", "max_days": 10, "jitter": 2},
            },
        }
    )
    out = TableTransformer("t", policy, batch.schema, keyring).transform(batch)
    moved = out.column("created_at").cast(pa.int32()).to_numpy() - days.cast(pa.int32()).to_numpy()
    assert (
        out.column("created_at").type == pa.date32() and np.all(np.abs(moved) <= 12) and len(set(moved)) > 10
    )
