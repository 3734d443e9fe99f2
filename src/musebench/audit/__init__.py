"""musebench.audit: check a model against a takedown request with no retrain model and no hand-written QA.

Probes come from the documents to remove (``probes``); the never-seen level from holdout documents or a
reference model; the verdict follows a stated rule with bootstrap CIs (``verdict``). See docs/audit.md.
"""

from musebench.audit.api import Attack, AuditModel, run_audit, write_audit
from musebench.audit.documents import DocumentSet, check_overlap, load_documents
from musebench.audit.probes import build_probes
from musebench.audit.settings import PROBES, AuditSettings
from musebench.audit.verdict import RULE

__all__ = [
    "PROBES",
    "RULE",
    "Attack",
    "AuditModel",
    "AuditSettings",
    "DocumentSet",
    "build_probes",
    "check_overlap",
    "load_documents",
    "run_audit",
    "write_audit",
]
