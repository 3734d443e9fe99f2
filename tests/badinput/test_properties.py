"""Property tests: random JSON shapes and strings fed to the corpus loaders, the shared corpus checks, the
unlearning options and the experiment config never give a traceback: they load, or raise one musebench error."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musebench.errors import MusebenchError

pytestmark = pytest.mark.filterwarnings("ignore")  # the loaders warn about many of these shapes, as they should

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Any Unicode code point, lone surrogates included (JSON can carry them as \\ud800 escapes).
ANY_CHAR = st.characters(codec=None, exclude_categories=())
TEXT = st.text(ANY_CHAR, max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
#: Records that look almost right: the expected keys with random values, plus stray keys.
RECORD = st.dictionaries(st.sampled_from(["question", "answer", "prompt", "gt", "text", "x"]), JSON, max_size=4)
SPLITS = [
    "raw/forget.json",
    "raw/holdout.json",
    "knowmem/forget_qa.json",
    "verbmem/forget.json",
    "privleak/holdout.json",
    "scal/forget_1.json",
    "sust/forget_2.json",
]


@pytest.fixture(scope="module")
def corpus_dir(tiny_corpus):
    from musebench.data.layout import save_corpus

    root = Path(tempfile.mkdtemp(prefix="musebench-props-"))
    save_corpus(tiny_corpus, root / "corpus")
    yield root / "corpus"
    shutil.rmtree(root, ignore_errors=True)


def _load_everything(root: Path) -> None:
    from musebench.data import load_corpus
    from musebench.data.validate import check_corpus, validate_directory

    validate_directory(root)
    try:
        corpus = load_corpus(root)
    except MusebenchError:
        return
    check_corpus(corpus)
    corpus.fingerprint()  # every cache key hashes the texts: they must all be encodable


@SETTINGS
@given(split=st.sampled_from(SPLITS), value=JSON | st.lists(RECORD, max_size=4) | st.lists(TEXT, max_size=4))
def test_random_json_in_a_split_file_never_tracebacks(corpus_dir, split, value):
    path = corpus_dir / split
    original = path.read_bytes()
    try:
        path.write_text(json.dumps(value), encoding="utf-8")
        try:
            _load_everything(corpus_dir)
        except MusebenchError:
            pass
    finally:
        path.write_bytes(original)


@SETTINGS
@given(split=st.sampled_from(SPLITS), blob=st.binary(max_size=64))
def test_random_bytes_in_a_split_file_never_traceback(corpus_dir, split, blob):
    path = corpus_dir / split
    original = path.read_bytes()
    try:
        path.write_bytes(blob)
        try:
            _load_everything(corpus_dir)
        except MusebenchError:
            pass
    finally:
        path.write_bytes(original)


def _unlearn_fields() -> list[str]:
    import dataclasses

    from musebench.unlearn.config import UnlearnConfig

    return [f.name for f in dataclasses.fields(UnlearnConfig)]


@SETTINGS
@given(data=st.dictionaries(st.sampled_from(_unlearn_fields()) | TEXT, JSON, max_size=5))
def test_random_unlearning_options_raise_only_config_errors(data):
    from musebench.unlearn.config import UnlearnConfig

    data.setdefault("method", "ga")
    try:
        UnlearnConfig.from_dict(data)
    except MusebenchError:
        pass


def _top_level_keys() -> list[str]:
    from musebench.experiment.config import TOP_LEVEL_KEYS

    return sorted(TOP_LEVEL_KEYS)


METHOD_BLOCK = st.dictionaries(
    st.sampled_from(["ga", "npo_gdr", "task_vector", "bogus"]),
    st.dictionaries(st.sampled_from(_unlearn_fields()), JSON, max_size=3) | JSON,
    max_size=2,
)


@SETTINGS
@given(raw=JSON | st.dictionaries(st.sampled_from(_top_level_keys()), JSON | METHOD_BLOCK, max_size=6))
def test_random_experiment_configs_raise_only_musebench_errors(raw):
    from musebench.experiment.adapters import validate_method
    from musebench.experiment.config import parse_experiment

    try:
        parse_experiment(raw, source_file="experiment.yaml", method_validator=validate_method)
    except MusebenchError:
        pass


@SETTINGS
@given(text=st.text(ANY_CHAR, max_size=200))
def test_random_experiment_yaml_text_raises_only_musebench_errors(text, tmp_path_factory):
    from musebench.experiment.adapters import validate_method
    from musebench.experiment.config import load_experiment

    path = tmp_path_factory.mktemp("yaml") / "experiment.yaml"
    try:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    except UnicodeError:
        return
    try:
        load_experiment(path, method_validator=validate_method)
    except MusebenchError:
        pass
