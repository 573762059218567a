"""The committed wordfreq extract (scripts/make_wordlists.py) answers as wordfreq does, and a column
classification that needs no text analysis does not import wordfreq, pandas' text stack or spaCy."""

import json
import random
import string
import subprocess
import sys
import unicodedata

import pytest
from wordfreq import top_n_list, zipf_frequency

from datarefresh.detect import gazetteer, names
from tests.conftest import REPO

FOREIGN = ("es", "de", "fr", "it", "pt", "nl")


def test_the_vocabulary_is_wordfreqs_top_list():
    assert gazetteer.wordlist("words_en_top.txt.gz") == top_n_list("en", 30_000)


def _probes() -> list[str]:
    rng = random.Random(16)
    common = sorted(gazetteer._common_words())
    words = rng.sample(common, 500) + rng.sample(sorted(names._foreign_words()), 500)
    words += ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10))) for _ in range(300)]
    # names and near-thresholds words the classifier meets, in the casings values come in
    words += [
        "Siobhan",
        "MAY",
        "Will",
        "street",
        "Gold",
        "provincia",
        "telefoonnummer",
        "Straße",
        "José",
        "Müller",
        "ÉDITH",
        "café",
        "naïve",
        "Øster",
        "Ἀθῆναι",
        "東京",
        "İstanbul",
    ]
    return words


def test_common_words_answer_as_wordfreq():
    for w in _probes():
        for token in (w, w.upper(), w.title(), unicodedata.normalize("NFD", w)):
            z = zipf_frequency(token, "en")
            for threshold in (3.0, 3.5, 4.0, 4.5):
                assert gazetteer.is_common_word(token, threshold) == (z >= threshold), (token, threshold)
    with pytest.raises(ValueError):
        gazetteer.is_common_word("street", 2.0)


def test_foreign_words_answer_as_wordfreq():
    for w in _probes():
        token = w.lower()
        if len(token) >= 5 and token.isalpha():
            want = any(zipf_frequency(token, lang) >= 3.0 for lang in FOREIGN)
            assert names._foreign_word(token) == want, token


_PROBE = """
import json, sys
import pyarrow as pa
from datarefresh.detect.classify import classify_table
policy = classify_table("people", pa.table({
    "PATIENTID": [1, 2, 3], "GIVENNAME": ["Ana", "Bo", "Cy"], "telefoonnummer": ["x", "y", "z"],
    "email": ["ana@example.com", "bo@example.net", "cy@example.org"],
    "LastName": ["Lee", "Müller", "Okafor"]}),
    use_presidio=False, find_keys=False)
print(json.dumps({"imported": [m for m in ("wordfreq", "spacy", "presidio_analyzer", "phonenumbers")
                               if m in sys.modules],
                  "columns": {c: [p.action, p.entity] for c, p in policy.columns.items()}}))
"""


def test_classifying_names_and_values_does_not_import_wordfreq():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, cwd=REPO)
    got = json.loads(out.stdout)
    assert got["imported"] == []
    assert got["columns"]["GIVENNAME"][1] in ("FIRST_NAME", "PERSON")
    assert got["columns"]["email"] == ["fake", "EMAIL_ADDRESS"]
