"""The committed provenance statement describes exactly the committed lock and the built files."""

import json

from app.integrity.digests import sha256_bytes
from app.integrity.lockfile import ModelLock
from devkit.paths import MODELS
from models.build.provenance import provenance_statement


def test_provenance_matches_the_lock_and_the_artifacts() -> None:
    lock = ModelLock.model_validate_json((MODELS / "models.lock").read_bytes())
    statement = json.loads((MODELS / "provenance.json").read_text())
    assert statement == provenance_statement(lock)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    for subject in statement["subject"]:
        assert sha256_bytes((MODELS / subject["name"]).read_bytes()) == subject["digest"]["sha256"]
    pinned = {dep["digest"]["sha256"] for dep in statement["predicate"]["buildDefinition"]["resolvedDependencies"]}
    for entry in lock.models:
        for source in entry.sources:
            assert source.sha256 in pinned
