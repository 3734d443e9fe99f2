"""MUSE data: the typed corpus, loaders for every source, validation and the mini-benchmark generator."""

from musebench.data.corpus import CRITERION_TITLES, Corpus
from musebench.data.files import DataWarning, MissingDataWarning, Problem
from musebench.data.layout import save_corpus
from musebench.data.loaders import load_corpus, load_corpus_dir, load_corpus_from_files
from musebench.data.records import QAPair, VerbMemRecord
from musebench.data.summary import SplitSummary, describe
from musebench.data.validate import ValidationReport, validate_directory

__all__ = [
    "CRITERION_TITLES",
    "Corpus",
    "DataWarning",
    "MissingDataWarning",
    "Problem",
    "QAPair",
    "SplitSummary",
    "ValidationReport",
    "VerbMemRecord",
    "describe",
    "load_corpus",
    "load_corpus_dir",
    "load_corpus_from_files",
    "save_corpus",
    "validate_directory",
]
