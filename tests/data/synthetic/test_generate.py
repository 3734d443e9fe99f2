"""The mini corpus generator: deterministic, complete MUSE layout, facts stated where the questions ask."""

from __future__ import annotations

import json

import pytest

from musebench.data import load_corpus
from musebench.data.synthetic import KINDS, MINI_EVAL_SETTINGS, SIZES, generate_corpus
from musebench.data.synthetic.world import FACTS
from musebench.errors import ConfigError
from musebench.models.mini_corpus import write_mini_corpus as write_corpus


@pytest.fixture(scope="module", params=KINDS)
def corpus(request):
    return generate_corpus(request.param, "tiny", seed=3)


def test_same_seed_same_corpus_other_seed_other_corpus():
    a = generate_corpus("news-mini", "tiny", 1).to_dict()
    assert a == generate_corpus("news-mini", "tiny", 1).to_dict()
    assert a["forget"] != generate_corpus("news-mini", "tiny", 2).to_dict()["forget"]


def test_sizes_match_the_spec(corpus):
    spec = SIZES["tiny"]
    per = spec.docs_per_person
    assert len(corpus.forget) == spec.people["forget"] * per
    assert len(corpus.retain2) == spec.people["retain2"] * per
    assert len(corpus.holdout) == spec.people["holdout"] * per
    assert len(corpus.knowmem_forget_qa) == spec.people["forget"] * len(FACTS)
    assert len(corpus.knowmem_retain_qa) == spec.people["retain2"] * len(FACTS)
    assert len(corpus.knowmem_forget_qa_icl) == 10
    assert corpus.criteria() == ["verbmem_f", "knowmem_f", "knowmem_r", "privleak", "scalability", "sustainability"]


def test_splits_are_disjoint_and_holdout_never_trained(corpus):
    trained = set(corpus.forget) | set(corpus.retain1) | set(corpus.retain2)
    assert not set(corpus.holdout) & trained
    assert not set(corpus.forget) & (set(corpus.retain1) | set(corpus.retain2))
    assert set(corpus.privleak_holdout) <= set(corpus.holdout)
    assert set(corpus.privleak_forget) <= set(corpus.forget)
    assert set(corpus.privleak_retain) <= set(corpus.retain2)


def test_folds_follow_the_release_layout(corpus):
    """scal/forget_1 = sust/forget_1 = raw/forget; scal grows beyond it; sust 2-4 are disjoint new documents."""
    scal, sust = corpus.scal, corpus.sust
    assert sorted(scal) == sorted(sust) == [1, 2, 3, 4]
    assert scal[1] == sust[1] == corpus.forget  # identical content, as the release's identical files
    for k in (1, 2, 3):
        assert set(scal[k]) < set(scal[k + 1])
        assert set(scal[k + 1]) - set(scal[k]) == set(sust[k + 1])  # fold k+1 adds sust's new documents
    folds = [set(sust[k]) for k in (1, 2, 3, 4)]
    assert all(not folds[i] & folds[j] for i in range(4) for j in range(i + 1, 4))
    assert set(scal[4]) == set().union(*folds) > set(corpus.forget)
    others = set(corpus.retain1) | set(corpus.retain2) | set(corpus.holdout)
    assert not set(scal[4]) & others  # the retrain model never reads a fold document


def test_every_fold_has_questions_about_its_own_documents(corpus):
    assert corpus.scal_qa[1] == corpus.sust_qa[1] == corpus.knowmem_forget_qa
    for k in (2, 3, 4):
        assert corpus.scal_qa[k] == corpus.scal_qa[k - 1] + corpus.sust_qa[k]
        assert len(corpus.sust_qa[k]) == SIZES["tiny"].fold_people * len(FACTS)
        for qa in corpus.sust_qa[k]:
            name = _name_in(qa.question)
            about = [d for d in corpus.sust[k] if name in d]
            assert len(about) == SIZES["tiny"].docs_per_person  # a person of this fold ...
            assert all(qa.answer in d for d in about)  # ... whose fact its documents state
            assert not [d for d in corpus.forget if name in d]  # and whom the forget set never names
    assert corpus.fold_questions("sust/forget_3") == corpus.sust_qa[3]
    assert corpus.fold_questions("forget") == corpus.knowmem_forget_qa


def test_every_forget_answer_is_stated_in_a_document_about_that_person(corpus):
    for qa in corpus.knowmem_forget_qa:
        name = _name_in(qa.question)
        about = [d for d in corpus.forget if name in d]
        assert len(about) == SIZES["tiny"].docs_per_person
        assert all(qa.answer in d for d in about), (qa, about[0])
    for qa in corpus.knowmem_retain_qa:
        assert any(_name_in(qa.question) in d and qa.answer in d for d in corpus.retain2)


def test_answers_are_short_single_words(corpus):
    for qa in corpus.knowmem_forget_qa + corpus.knowmem_retain_qa:
        assert qa.answer and " " not in qa.answer


def test_qa_format_only_about_retain1_people(corpus):
    """The Question/Answer drills and the few-shot examples never name a person KnowMem asks about."""
    asked = {_name_in(q.question) for q in corpus.knowmem_forget_qa + corpus.knowmem_retain_qa}
    drills = [d for d in corpus.retain1 if d.startswith("Question: ")]
    assert drills
    text = "\n".join(drills + [q.question for q in corpus.knowmem_forget_qa_icl])
    assert not [n for n in asked if n in text]
    assert all(
        f"Question: {q.question}\nAnswer: {q.answer}" in "\n\n".join(drills) for q in corpus.knowmem_retain_qa_icl
    )


def test_verbmem_records_split_forget_documents(corpus):
    docs = set(corpus.forget)
    for rec in corpus.verbmem_forget:
        assert rec.prompt + rec.gt in docs
        assert rec.prompt.endswith(" ") and not rec.gt.startswith(" ")
        assert len(rec.gt.split()) >= 8


def test_style_of_each_kind():
    news = generate_corpus("news-mini", "tiny", 0)
    books = generate_corpus("books-mini", "tiny", 0)
    assert all(" - " in d.split(".")[0] and any(c.isdigit() for c in d[:40]) for d in news.forget)
    assert all(d.startswith("Chapter ") for d in books.forget)


def test_unknown_kind_or_size_is_a_config_error():
    with pytest.raises(ConfigError, match="corpus"):
        generate_corpus("wiki-mini", "tiny", 0)
    with pytest.raises(ConfigError, match="size"):
        generate_corpus("news-mini", "huge", 0)


def test_mini_eval_settings_are_valid_eval_settings():
    from musebench.evaluate import EvalSettings

    for size in SIZES:
        settings = EvalSettings(**MINI_EVAL_SETTINGS[size])
        assert settings.knowmem_max_new_tokens <= 16
        assert settings.verbmem_max_new_tokens <= 64


def test_write_corpus_layout_tokenizer_and_same_bytes(tmp_path):
    a = write_corpus("books-mini", "tiny", 5, tmp_path / "a")
    b = write_corpus("books-mini", "tiny", 5, tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    expected = [
        "raw/forget.json",
        "raw/retain1.json",
        "raw/retain2.json",
        "raw/holdout.json",
        "verbmem/forget.json",
        "knowmem/forget_qa.json",
        "knowmem/retain_qa.json",
        "knowmem/forget_qa_icl.json",
        "knowmem/retain_qa_icl.json",
        "privleak/forget.json",
        "privleak/retain.json",
        "privleak/holdout.json",
        "tokenizer/tokenizer.json",
    ]
    expected += [f"{f}/forget_{k}.json" for f in ("scal", "sust") for k in (1, 2, 3, 4)]
    expected += [f"knowmem/{f}/forget_{k}_qa.json" for f in ("scal", "sust") for k in (1, 2, 3, 4)]
    expected += [f"background/{n}.json" for n in ("articles", "drills", "probe_qa", "probe_icl", "filler", "names")]
    for rel in expected:
        assert (a / rel).is_file(), rel
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / rel).read_bytes() == (b / rel).read_bytes() for rel in files)
    meta = json.loads((a / "synthetic.json").read_text())
    assert meta["size"] == "tiny" and set(meta["constant_answer"]) == {"knowmem_f", "knowmem_r", "answers"}
    from musebench.data.synthetic import generate_world, read_background

    assert read_background(a) == generate_world("books-mini", "tiny", 5).background
    loaded = load_corpus(a)
    assert loaded.fingerprint() == generate_corpus("books-mini", "tiny", 5).fingerprint()


def test_tokenizer_has_distinct_specials_and_answer_boundary(tmp_path):
    from transformers import AutoTokenizer

    out = write_corpus("news-mini", "tiny", 0, tmp_path / "c")
    tok = AutoTokenizer.from_pretrained(out / "tokenizer")
    assert len({tok.bos_token_id, tok.eos_token_id, tok.pad_token_id}) == 3
    corpus = load_corpus(out)
    qa = corpus.knowmem_forget_qa[0]
    prompt = f"Question: {qa.question}\nAnswer: "
    full = tok(prompt + qa.answer)["input_ids"]
    ids = tok(prompt)["input_ids"]
    assert ids[0] == tok.bos_token_id
    # the prompt with its trailing space is a token prefix of prompt + answer (no lone-space token)
    assert full[: len(ids)] == ids
    assert tok.decode(full[len(ids) :]) == qa.answer


def _name_in(question: str) -> str:
    words = question.rstrip("?").replace("'s", "").split()
    return " ".join(w for w in words if w[0].isupper() and w not in ("Where", "In", "What", "Which", "To"))
