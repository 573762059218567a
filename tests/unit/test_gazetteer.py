from datarefresh.detect import gazetteer


def test_lookups_ignore_case_and_accents():
    assert gazetteer.given_rank("Édith") == gazetteer.given_rank("EDITH") == gazetteer.given_rank("edith")
    assert gazetteer.given_rank("Édith") is not None
    assert gazetteer.surname_rank("Nguyen") is not None
    assert gazetteer.given_rank("Åsa") is not None


def test_non_names_and_word_frequency():
    assert gazetteer.name_rank("Xqzvbnm") is None
    # common words that are also names are told apart by their frequency as words
    assert gazetteer.word_frequency("street") > 4.5 > gazetteer.word_frequency("siobhan")
