"""The re-identification attack of bench/reid.py on a small instance: an attacker with the dev
output and a roster of the population (names + quasi-identifiers, in prod order)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from bench.reid import DEMO_ROSTER, attack, run_dataset


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from datarefresh.devtools.demo_data import generate

    root = tmp_path_factory.mktemp("prod")
    generate(root, rows=600, seed=11, tables=("customers",))
    return root


def test_quasi_identifiers_re_identify_the_zero_config_dev_sample_without_generalization(demo):
    before = run_dataset(demo, "customers", DEMO_ROSTER, fraction=0.2, k=None, use_presidio=False)
    assert before["dev_rows"] > 80
    assert before["qi_linkage"] > 0.5  # (birth year, gender, zip3, state, country) single most people out


def test_generalized_dev_sample_holds_against_the_roster_and_keeps_information(demo):
    after = run_dataset(demo, "customers", DEMO_ROSTER, fraction=0.2, use_presidio=False)
    assert {"birth_date", "gender", "zip", "state", "country"} <= set(after["columns_linked"])
    assert after["qi_linkage"] <= 0.05
    assert after["unique_but_wrong"] == 0
    assert after["qi_cells_informative"] >= 0.8
    rep = after["pipeline_report"]
    assert rep["unique_share_before"] > 0.5 and rep["unique_share_after"] == 0


def _roster(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    names = [f"Country {i}" for i in range(31)]
    weights = 1 / np.arange(1, 32)
    return pa.table(
        {
            "CountryFull": pa.array(rng.choice(names, n, p=weights / weights.sum()).tolist()),
            "Age": pa.array(rng.integers(18, 90, n).tolist()),
        }
    )


def test_attack_decodes_one_to_one_fakes_of_a_small_domain_by_frequency():
    roster = _roster(2000, seed=1)
    truth = np.sort(np.random.default_rng(2).choice(2000, 400, replace=False))
    cipher = {f"Country {i}": f"Fake City {30 - i}" for i in range(31)}
    faked = pa.table(
        {
            "CountryFull": pa.array(
                [cipher[v] for v in roster.column("CountryFull").take(pa.array(truth)).to_pylist()]
            ),
            "Age": roster.column("Age").take(pa.array(truth)),
        }
    )
    result = attack(faked, roster, truth, ["CountryFull", "Age"], ["Age"])
    assert "CountryFull" not in result["columns_linked"]  # fakes match nobody: useless for linkage...
    assert result["frequency_decoding"]["CountryFull"] > 0.6  # ...but the frequency ranks give them back


def test_attack_measures_row_order():
    roster = _roster(1000, seed=3)
    truth = np.sort(np.random.default_rng(4).choice(1000, 200, replace=False))
    dev = roster.take(pa.array(truth))
    in_order = attack(dev, roster, truth, ["Age"], [])
    assert in_order["row_order_spearman"] > 0.99 and in_order["qi_and_row_order"] > 0.3
    shuffle = np.random.default_rng(5).permutation(200)
    shuffled = attack(dev.take(pa.array(shuffle)), roster, truth[shuffle], ["Age"], [])
    assert abs(shuffled["row_order_spearman"]) < 0.2 and shuffled["qi_and_row_order"] < 0.1


def test_attacker_applies_the_published_keyless_policies_to_the_roster(tmp_path):
    """Kerckhoffs: a text birthday generalized to its year ("1958") matches no level of the roster's
    "1/17/1958"; the attacker reads `generalize: year` in the plan and applies it to the roster too.
    Before, the bench left such a column out of the linkage (and under-counted the risk)."""
    from bench import people

    people.generate(tmp_path / "people", 400, people.SEEDS["dev"])
    after = run_dataset(tmp_path / "people", "people", people.ROSTER, fraction=0.25, use_presidio=False)
    assert "Birthday" in after["quasi_identifiers"] and "Birthday" in after["columns_linked"]
    assert after["qi_linkage"] <= 0.05 and after["unique_but_wrong"] == 0  # k-map still holds
