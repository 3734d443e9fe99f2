"""musebench: remove chosen documents from a language model and prove, six ways, whether it worked.

Implements the MUSE benchmark (Shi et al., ICLR 2025): its data layout, baseline unlearning methods and
six criteria (verbatim memorization, knowledge memorization, privacy leakage, utility, scalability,
sustainability).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
