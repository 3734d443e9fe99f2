"""Salient spans for cloze probes, on hand-written sentences."""

from __future__ import annotations

from musebench.audit.spans import blank, normalise_answer, salient_spans, split_sentences, usable


def spans(sentence):
    return [(s.kind, s.text) for s in salient_spans(sentence)]


def test_dates_numbers_and_names_in_text_order():
    assert spans("NEHAVEN, July 26, 2016 - Bemia Heaash drew 1,490 visitors to Tordane.") == [
        ("date", "July 26, 2016"),
        ("name", "Bemia Heaash"),
        ("number", "1,490"),
        ("name", "Tordane"),
    ]


def test_a_date_is_not_also_a_number_or_a_name():
    assert spans("It opened on 3 May 2001.") == [("date", "3 May 2001")]


def test_lone_sentence_initial_capital_is_no_name_but_a_run_of_two_is():
    assert spans("Last winter, Heaash rebuilt it.") == [("name", "Heaash")]
    assert spans("Bemia Heaash was born in 1989.") == [("name", "Bemia Heaash"), ("number", "1989")]


def test_leading_function_words_are_cut_from_a_name():
    assert spans("At Brandvor, Basus Rirkmore is a familiar face.") == [
        ("name", "Brandvor"),
        ("name", "Basus Rirkmore"),
    ]
    assert spans("The Braiterka fair was held.") == [("name", "Braiterka")]


def test_sentence_without_salient_span():
    assert salient_spans("nothing here is worth asking about.") == []


def test_a_span_still_visible_after_blanking_is_not_usable():
    sentence = "Alda Vorn met Vorn's brother in Kestrel Bay."
    by_text = {s.text: s for s in salient_spans(sentence)}
    assert not usable(sentence, by_text["Alda Vorn"])  # "Vorn" gives it away
    assert usable(sentence, by_text["Kestrel Bay"])
    assert blank(sentence, by_text["Kestrel Bay"]) == "Alda Vorn met Vorn's brother in ____."


def test_sentences_split_after_end_punctuation_and_on_blank_lines():
    text = "Alda was born in 1950. She left! Did she return? yes.\n\nA new paragraph."
    assert split_sentences(text) == [
        "Alda was born in 1950.",
        "She left!",
        "Did she return? yes.",
        "A new paragraph.",
    ]


def test_answers_compare_without_case_and_punctuation():
    assert normalise_answer(" Kestrel-Bay. ") == normalise_answer("kestrel bay") == "kestrel bay"


def test_the_word_after_a_dateline_dash_opens_the_sentence():
    assert spans("BROUSFELL, December 18, 2022 - Born in Gulfell, Sundia Pothmore stays.") == [
        ("date", "December 18, 2022"),
        ("name", "Gulfell"),
        ("name", "Sundia Pothmore"),
    ]
