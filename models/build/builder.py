"""Build orchestration: fetch, transform, describe (I/O, known answers) and lock."""

import tomllib
from pathlib import Path

import onnxruntime as ort

from app.integrity.digests import sha256_bytes
from app.integrity.kat import KnownAnswer, fingerprint, kat_input
from app.integrity.lockfile import ModelEntry, ModelLock, PolicyRef
from app.integrity.runtime import new_session, tensor_specs
from app.integrity.signing import sign
from models.build import provenance
from models.build.fetch import fetch
from models.build.sources import ModelSource, load_sources
from models.build.transforms import run_transforms, tool_versions, transform_steps

PROVENANCE_NAME = "provenance.json"


def _known_answer(session: ort.InferenceSession, model: ModelSource) -> KnownAnswer:
    spec = model.kat
    feed = kat_input(spec.input_shape, spec.input_low, spec.input_high)
    outputs = session.run(None, {model.preprocessing.input_name: feed})
    names = [output.name for output in session.get_outputs()]
    return KnownAnswer(
        input_shape=spec.input_shape,
        input_low=spec.input_low,
        input_high=spec.input_high,
        outputs={name: fingerprint(value) for name, value in zip(names, outputs, strict=True)},
    )


def build_model(model: ModelSource, source: bytes, models_dir: Path, tools: dict[str, str]) -> ModelEntry:
    artifact = run_transforms(model.transform, source)
    (models_dir / model.file).write_bytes(artifact)
    session = new_session(artifact, threads=1)
    inputs, outputs = tensor_specs(session)
    print(f"  {model.name}: {sha256_bytes(artifact)} ({len(artifact)} bytes)")
    return ModelEntry(
        name=model.name,
        version=model.version,
        role=model.role,
        file=model.file,
        sha256=sha256_bytes(artifact),
        size=len(artifact),
        inputs=inputs,
        outputs=outputs,
        sources=[model.source],
        transform=model.transform,
        tools=tools,
        licence=model.licence,
        preprocessing=model.preprocessing,
        kat=_known_answer(session, model),
    )


def _policy_ref(policy: Path) -> PolicyRef:
    data = policy.read_bytes()
    return PolicyRef(file=policy.name, sha256=sha256_bytes(data), version=tomllib.loads(data.decode())["version"])


def _compare(built: ModelLock, locked: ModelLock) -> None:
    """Artifacts must match the lock bit for bit; the gate checks known answers with tolerance."""
    if len(built.models) != len(locked.models):
        raise RuntimeError(f"built {len(built.models)} models, lock lists {len(locked.models)}")
    for mine, theirs in zip(built.models, locked.models, strict=True):
        for field in ("name", "file", "sha256", "size", "inputs", "outputs", "sources", "preprocessing"):
            if getattr(mine, field) != getattr(theirs, field):
                raise RuntimeError(
                    f"{mine.name}: built {field} {getattr(mine, field)!r} differs from lock {getattr(theirs, field)!r}"
                )
    if built.policy != locked.policy:
        raise RuntimeError(f"policy {built.policy.sha256} differs from lock {locked.policy.sha256}")


def build_all(
    sources: Path,
    policy: Path,
    lock_path: Path,
    models_dir: Path,
    mirror: Path | None,
    update_lock: bool,
    signing_key: Path | None,
) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    tools = tool_versions()
    models = load_sources(sources)
    for model in models:
        transform_steps(model.transform)  # a misspelt transform fails before anything is fetched or written
    verified = [fetch(model.source, mirror) for model in models]  # every digest checked before any transform
    entries = [build_model(model, source, models_dir, tools) for model, source in zip(models, verified, strict=True)]
    previous = ModelLock.model_validate_json(lock_path.read_text()) if lock_path.exists() else None
    version = previous.lock_version if previous else 0
    built = ModelLock(lock_version=version, models=entries, policy=_policy_ref(policy))
    if not update_lock:
        if previous is None:
            raise RuntimeError(f"no lock at {lock_path}; run with --update-lock to create it")
        _compare(built, previous)
        return
    new_lock = ModelLock(lock_version=version + 1, models=entries, policy=built.policy)
    lock_path.write_text(new_lock.dumps())
    lock_path.with_name(PROVENANCE_NAME).write_text(provenance.dumps(new_lock))
    signature = lock_path.with_name(lock_path.name + ".sig")
    if signing_key:
        signature.write_text(sign(lock_path.read_bytes(), signing_key) + "\n")
    else:
        signature.unlink(missing_ok=True)
        print("  lock rewritten UNSIGNED: sign it with `faceseal models sign --key KEY`")
    print(f"  lock_version {new_lock.lock_version} written to {lock_path}")
