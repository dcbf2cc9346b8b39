"""An in-toto Statement with a SLSA v1 provenance predicate, derived from the lock.

Subjects are the built artifacts (and the policy) with their digests, resolved dependencies are the
pinned sources with theirs, the builder is the tool versions and the command. No timestamps: the
statement is as reproducible as the artifacts it describes.
"""

import json
from typing import Any

from app.integrity.lockfile import ModelLock

BUILD_COMMAND = "faceseal models build --update-lock"
BUILD_TYPE = "https://faceseal.invalid/models-build/v1"


def _source_uri(ref: str, kind: str) -> str:
    if kind == "pypi":
        name, version = ref.split("==")
        return f"pkg:pypi/{name}@{version}"
    return ref


def provenance_statement(lock: ModelLock) -> dict[str, Any]:
    subjects = [{"name": entry.file, "digest": {"sha256": entry.sha256}} for entry in lock.models]
    subjects.append({"name": lock.policy.file, "digest": {"sha256": lock.policy.sha256}})
    dependencies: list[dict[str, Any]] = []
    for entry in lock.models:
        for source in entry.sources:
            dependencies.append({"uri": _source_uri(source.ref, source.kind), "digest": {"sha256": source.sha256}})
            if source.inner_path and source.inner_sha256:
                dependencies.append({"uri": f"{_source_uri(source.ref, source.kind)}#{source.inner_path}",
                                     "digest": {"sha256": source.inner_sha256}})
    tools = {name: version for entry in lock.models for name, version in entry.tools.items()}
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"sources": "models/sources.toml", "command": BUILD_COMMAND},
                "internalParameters": {
                    "lock_version": lock.lock_version,
                    "transforms": {entry.name: entry.transform for entry in lock.models},
                },
                "resolvedDependencies": dependencies,
            },
            "runDetails": {"builder": {"id": "faceseal-models-build", "version": tools}},
        },
    }


def dumps(lock: ModelLock) -> str:
    return json.dumps(provenance_statement(lock), indent=2, sort_keys=True) + "\n"
