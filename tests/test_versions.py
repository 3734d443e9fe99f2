"""One package-version collector and one list of what provenance records name."""

from __future__ import annotations

import platform

from musebench.versions import RECORDED_PACKAGES, environment_versions, package_versions


def test_one_list_with_none_for_what_is_not_installed():
    versions = package_versions()
    assert tuple(versions) == RECORDED_PACKAGES and versions["musebench"] and versions["torch"]
    assert package_versions(["no-such-distribution-musebench"]) == {"no-such-distribution-musebench": None}
    env = environment_versions()
    assert env["python"] == platform.python_version() and set(env) == {"python", *RECORDED_PACKAGES}


def test_the_experiment_and_the_evaluation_record_the_same_packages():
    from musebench.experiment.adapters import LibraryBackend

    recorded = LibraryBackend("cpu", "float32").versions()
    assert {k: recorded[k] for k in RECORDED_PACKAGES} == package_versions()
    assert recorded["device"] == "cpu" and recorded["dtype"] == "float32" and recorded["python"]
