"""Zero-config sanitize (staging and dev) of every corpus family, judged against its ground truth."""

import pytest

from datarefresh.anonymize.keyed import Keyring
from tests.corpus.families import FAMILIES
from tests.corpus.measure import sanitize_family

SEED = 1  # a dev seed (see tests/corpus/families.py for the split)
ROWS = 120
KEY = Keyring(b"corpus-test-key-0123456789abcdef")
_results: dict[str, dict] = {}

# Column classification (issue 12 parts 1-3) is another branch's work: these fail here only
# because columns are classified by today's rules (a PascalCase/UPPERCASE/uninformative name or
# an int64 PII column kept, a categorical column faked). Remove the marks once it is merged.
_NEEDS_CLASSIFY = pytest.mark.xfail(strict=True, reason="needs classify part 1-3")
PII_XFAIL = {"opaque_customers"}
KEPT_XFAIL: set[str] = set()


def result(name: str, tmp_path_factory) -> dict:
    if name not in _results:
        _results[name] = sanitize_family(FAMILIES[name](SEED, ROWS), tmp_path_factory.mktemp(name), KEY)
    return _results[name]


def _marked(names, marks):
    return [pytest.param(n, marks=_NEEDS_CLASSIFY) if n in marks else n for n in names]


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


@pytest.mark.parametrize("name", _marked(list(FAMILIES), PII_XFAIL))
def test_pii_cells_verbatim_at_most_half_a_percent(name, tmp_path_factory):
    r = result(name, tmp_path_factory)
    assert r["ok"], r.get("error")
    assert r["pii_verbatim_share"] <= 0.005, r["leaked_columns"]


@pytest.mark.parametrize("name", _marked(list(FAMILIES), KEPT_XFAIL))
def test_non_pii_cells_kept_at_least_90_percent(name, tmp_path_factory):
    r = result(name, tmp_path_factory)
    assert r["ok"], r.get("error")
    assert r["non_pii_kept_share"] >= 0.9, r["changed_columns"]
