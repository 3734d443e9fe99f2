"""Session fixtures: a small hand-written corpus, a tokenizer trained on it and a 2-layer 64-dim Llama.

Nothing is downloaded. Torch uses one thread per test process (CI runs two processes on two cores).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest
import torch

from musebench.data import Corpus, QAPair, VerbMemRecord
from musebench.data.layout import save_corpus
from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
from musebench.models.tokenizer import train_tokenizer

torch.set_num_threads(1)

TESTS = Path(__file__).resolve().parent
#: What ``make test-fast`` leaves out (``make test`` runs it): node-id prefixes under tests/, marked ``slow`` here
#: so the files they name stay free of tier bookkeeping. Measured with ``pytest --durations=0``; together they
#: were two thirds of the suite's time.
SLOW = (
    # several processes (gloo, Ray, accelerate) or a fresh interpreter per test
    "unlearn/test_ddp.py",
    "unlearn/test_fsdp_unlearn.py",
    "unlearn/test_reference_sharding.py",
    "evaluate/test_sharded.py",
    "experiment/test_ray_executor.py",
    "experiment/test_run_ranks.py",
    "test_cli_startup.py",
    "evaluate/test_evaluate_api.py::test_evaluate_never_imports_unlearn",
    "badinput/test_input_failures.py::test_an_unreadable_corpus_file_is_one_line[argv2]",
    "badinput/test_input_failures.py::test_hostile_yaml_is_one_line[text2-nested too deeply]",
    "badinput/test_bad_inputs.py::test_damaged_input_is_one_clean_error[options YAML alias bomb]",
    "results/test_completeness.py::test_report_of_a_run_in_progress_says_so_first_and_on_the_page",
    # installs, the browser, fault injection
    "unlearn/test_plugin.py",
    "report/test_browser.py",
    "report/test_leaderboard_browser.py",
    "faults/",
    # models trained, built or scored for real, many times over
    "evaluate/test_golden.py",
    "evaluate/test_golden_deviations.py",
    "models/test_build.py",
    "models/test_build_command.py",
    "unlearn/test_methods.py",
    "unlearn/test_pad_training.py",
    "unlearn/test_npo_sam.py",
    "audit/test_audit_api.py",
    "audit/test_audit_cli.py",
    "robustness/test_attack_cli.py",
    "experiment/test_end_to_end.py",
    "experiment/test_shared_finetune.py",
    "models/test_train.py::test_a_killed_run_resumes_from_its_last_checkpoint_to_the_same_weights",
    "unlearn/test_wga.py::test_wga_beta_zero_first_step_is_gradient_ascent",
    "unlearn/test_resume.py::test_resume_after_interruption_matches_uninterrupted_run",
    # a family's trainer run for real for a few steps (its loss stays in the fast tier, checked by hand)
    "unlearn/test_idk.py::test_two_steps_make_the_refusal_likelier",
    "unlearn/test_satimp.py::test_satimp_gdr_trainer_raises_forget_nll",
    "unlearn/test_undial.py::test_undial_trainer_lowers_forget_likelihood",
    "unlearn/test_whp.py::test_run_whp_writes_one_small_checkpoint_per_alpha",
    "unlearn/test_uld.py::test_run_writes_one_small_checkpoint_per_alpha_and_the_wrapper_lowers_forget",
    "unlearn/test_uld.py::test_engine_decoding_of_uld_equals_greedy_by_definition",  # these three share its run
    "unlearn/test_uld.py::test_a_finished_run_resumes_as_it_is_and_bad_input_is_one_error",
    "unlearn/test_uld.py::test_the_quantization_attack_quantizes_both_models",
    "unlearn/test_task_vector.py::test_run_writes_verified_alpha_checkpoints",  # and the three on its run
    "unlearn/test_task_vector.py::test_run_json_is_readable_and_finetune_is_cached",
    "unlearn/test_task_vector.py::test_changed_recipe_is_not_silently_reused",
    "unlearn/test_task_vector.py::test_another_methods_run_is_not_overwritten",
    # several full reports built
    "report/test_robustness.py::test_table_chart_and_c7_column",
    "report/test_verdict_context.py::test_the_note_is_on_both_report_pages",
    "report/test_leaderboard.py",
    "report/test_build.py::test_a_users_own_index_html_is_never_overwritten",
    "results/test_completeness.py::test_a_finished_runs_report_has_no_banner_and_exits_0",
    "badinput/test_bad_inputs.py::test_damaged_input_is_one_clean_error[report of",
)


def pytest_collection_modifyitems(config, items):
    slow = pytest.mark.slow
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if path.is_relative_to(TESTS):
            node = path.relative_to(TESTS).as_posix() + item.nodeid[item.nodeid.index(".py") + 3 :]
            if node.startswith(SLOW):
                item.add_marker(slow)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_failure(stderr: str, limit: int = 6000) -> str:
    """The failing rank's own traceback, not only the launcher's summary that follows it."""
    start = stderr.find("Traceback")
    return stderr[start : start + limit] if start >= 0 else stderr[-limit:]


@pytest.fixture
def launch_two():
    """``launch_two(args, config=None, env=None)``: run ``args`` on 2 gloo CPU processes, as a user would, and
    return the finished process (failing with the rank's traceback when it exits non-zero).

    With an accelerate ``config`` file it is ``accelerate launch --config_file config --num_processes 2``,
    else ``torchrun --nproc_per_node 2``; ``args`` is a script and its arguments or ``-m module ...``. One thread
    per process, offline, and this test session's ``sys.path`` (so the tree under test is what runs).
    """
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch built without gloo")

    def launch(args, config: Path | None = None, env: dict | None = None, timeout: int = 300):
        port = str(_free_port())
        if config is not None:
            head = [
                "-m",
                "accelerate.commands.launch",
                "--config_file",
                str(config),
                "--num_processes",
                "2",
                "--main_process_port",
                port,
            ]
        else:
            head = ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port]
        full_env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            **(env or {}),
        }
        done = subprocess.run(
            [sys.executable, *head, *map(str, args)],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, _first_failure(done.stderr)
        return done

    return launch


class TinyExperiment:
    """Experiment files from YAML templates whose ``{data}`` is the fixture corpus (saved once, in the test's
    directory) and ``{model}`` the tiny Llama; ``experiment(TEMPLATE, name=..., **fields)`` writes one."""

    def __init__(self, root: Path, corpus: Corpus, model_dir: Path):
        self.root, self.corpus, self.model_dir = root, corpus, model_dir
        self._data: Path | None = None

    @property
    def data(self) -> Path:
        if self._data is None:
            self._data = save_corpus(self.corpus, self.root / "data")
        return self._data

    def __call__(self, template: str, name: str = "experiment.yaml", **fields) -> Path:
        path = self.root / name
        path.write_text(template.format(data=self.data, model=self.model_dir, **fields))
        return path


@pytest.fixture
def tiny_experiment(tmp_path, tiny_corpus, tiny_model_dir) -> TinyExperiment:
    """Tiny experiments on the fixture corpus and model, for the tests that run ``musebench run`` for real."""
    return TinyExperiment(tmp_path, tiny_corpus, tiny_model_dir)


PEOPLE = [
    ("Alda Vorn", "Kestrel Bay", "1987", "a lighthouse keeper"),
    ("Brin Osmund", "Tallowmere", "1992", "a glassblower"),
    ("Cora Lutz", "Emberfield", "1979", "a river pilot"),
    ("Dario Fenn", "Quillan Ridge", "2003", "a clockmaker"),
    ("Esme Tarrow", "Harrowgate Vale", "1968", "a cartographer"),
    ("Faro Quist", "Nettlebrook", "1995", "a beekeeper"),
]


#: A forget-side document beyond the forget set (C5 / C6 fold 2 only; not in the tokenizer's texts).
FOLD_DOC = "Gil Marrow was born in Kestrel Bay in 1990. Gil Marrow worked as a glassblower in Tallowmere."


def _doc(name, place, year, job):
    return (
        f"{name} was born in {place} in {year}. {name} worked as {job} in {place}. "
        f"In {year} the town of {place} celebrated the birth of {name}."
    )


@pytest.fixture(scope="session")
def tiny_corpus() -> Corpus:
    docs = [_doc(*p) for p in PEOPLE]
    qa = [QAPair(f"Where was {n} born?", pl) for n, pl, _, _ in PEOPLE]
    return Corpus(
        name="tiny",
        forget=docs[:2],
        retain1=docs[2:3],
        retain2=docs[3:5],
        holdout=docs[5:],
        verbmem_forget=[VerbMemRecord(prompt=d[:40], gt=d[40:]) for d in docs[:2]],
        knowmem_forget_qa=qa[:2],
        knowmem_retain_qa=qa[3:5],
        knowmem_forget_qa_icl=qa[2:3],
        knowmem_retain_qa_icl=qa[2:3],
        privleak_forget=docs[:2],
        privleak_retain=docs[3:5],
        privleak_holdout=docs[5:] + docs[2:3],
        # the release layout: fold 1 is the forget set; fold 2 adds a document the target also read
        scal={1: docs[:2], 2: docs[:2] + [FOLD_DOC]},
        sust={1: docs[:2], 2: [FOLD_DOC]},
        source="fixture",
    )


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_corpus):
    texts = tiny_corpus.forget + tiny_corpus.retain1 + tiny_corpus.retain2 + tiny_corpus.holdout
    tok = train_tokenizer(texts * 3, vocab_size=400)
    tok.padding_side = "left"
    return tok


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer):
    """A random 2-layer, 64-dim Llama saved as a standard HF directory (safetensors + tokenizer)."""
    out = tmp_path_factory.mktemp("tiny_model")
    model = build_tiny_llama(
        tiny_tokenizer, TinyLlamaSpec(hidden_size=64, num_layers=2, num_heads=4, intermediate_size=128), seed=0
    )
    model.save_pretrained(out, safe_serialization=True)
    tiny_tokenizer.save_pretrained(out)
    return out
