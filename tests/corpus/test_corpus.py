"""Zero-config sanitize (staging and dev) of every corpus family, judged against its ground truth."""

import pytest

from datarefresh.anonymize.keyed import Keyring
from tests.corpus.families import FAMILIES
from tests.corpus.measure import sanitize_family

SEED = 1  # a dev seed (see tests/corpus/families.py for the split)
ROWS = 120
KEY = Keyring(b"corpus-test-key-0123456789abcdef")
_results: dict[str, dict] = {}


def result(name: str, tmp_path_factory) -> dict:
    if name not in _results:
        _results[name] = sanitize_family(FAMILIES[name](SEED, ROWS), tmp_path_factory.mktemp(name), KEY)
    return _results[name]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_zero_config_run_succeeds_and_every_true_foreign_key_is_found_and_resolves(name, tmp_path_factory):
    r = result(name, tmp_path_factory)
    assert r["ok"], r.get("error")
    assert r["primary_keys_wrong"] == []
    assert r["fks_missing"] == [] and r["fks_false"] == []
    assert all(share == 1.0 for share in r["fk_resolving"].values()), r["fk_resolving"]
    for info in r["report"]["tables"].values():  # plan shows the evidence of every discovered key
        for fk in info["foreign_keys"]:
            assert fk["evidence"]["match_share"] >= 0.95 and fk["evidence"]["values_sampled"] > 0


@pytest.mark.parametrize("name", list(FAMILIES))
def test_pii_cells_verbatim_at_most_half_a_percent(name, tmp_path_factory):
    r = result(name, tmp_path_factory)
    assert r["ok"], r.get("error")
    assert r["pii_verbatim_share"] <= 0.005, r["leaked_columns"]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_non_pii_cells_kept_at_least_90_percent(name, tmp_path_factory):
    r = result(name, tmp_path_factory)
    assert r["ok"], r.get("error")
    assert r["non_pii_kept_share"] >= 0.9, r["changed_columns"]
