"""Regenerate datarefresh/data/pools.json, the word pools the fake operators draw from.

The pools are committed so that pseudonyms do not change when Faker's data changes:
the same key and value give the same fake on every machine and every version.
"""

import importlib
import json
from pathlib import Path

from faker import Faker

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "sv_SE"]


def main() -> None:
    fake = Faker(LOCALES)
    fake.seed_instance(20261130)
    first = set()
    last = set()
    for loc in LOCALES:
        p = importlib.import_module(f"faker.providers.person.{loc}").Provider
        first.update(n for n in p.first_names if n.isalpha())
        last.update(n for n in p.last_names if n.replace("-", "").isalpha())
    en = fake["en_US"]
    streets = sorted({en.street_name() for _ in range(6000)})
    cities = sorted({en.city() for _ in range(3000)})
    pools = {
        "first_name": sorted(first),
        "last_name": sorted(last),
        "street": streets,
        "city": cities,
        "email_domain": ["example.com", "example.net", "example.org", "mail.example.com", "test.example"],
        "url_host": ["www.example.com", "app.example.org", "shop.example.net"],
        "word": sorted({w for w in (en.word() for _ in range(4000)) if w.isalpha()}),
    }
    out = Path(__file__).resolve().parents[1] / "datarefresh" / "data" / "pools.json"
    out.write_text(json.dumps(pools, ensure_ascii=False, indent=0))
    print({k: len(v) for k, v in pools.items()}, out)


if __name__ == "__main__":
    main()
