"""`faceseal`: serve, build and verify models, manage API keys, evaluate and calibrate."""

import argparse
import json
import logging
import os
import signal
import subprocess  # nosec B404
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from app.config import Settings
from app.integrity.gate import IntegrityError, SealedSet, open_sealed_set
from app.integrity.trust import load_trust
from app.listen import add_listen_arguments

if TYPE_CHECKING:
    from app.inference.pipeline import Pipeline
    from app.inference.policy import Policy

_logger = logging.getLogger("faceseal")
REPO_ROOT = Path(__file__).resolve().parents[1]


def open_models(settings: Settings) -> SealedSet:
    if not settings.require_signature:
        _logger.warning("LOCK SIGNATURE CHECK DISABLED (FACESEAL_REQUIRE_SIGNATURE=false): development only")
    trust = load_trust(settings.trust_file)
    return open_sealed_set(settings.models_dir, trust, settings.require_signature, settings.ort_threads)


def refused_settings(error: ValidationError) -> list[tuple[str, str]]:
    """Each refused setting named as the operator sets it (`FACESEAL_*`), with the reason."""
    return [("FACESEAL_" + "_".join(map(str, problem["loc"])).upper(), problem["msg"]) for problem in error.errors()]


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.api.app import create_app
    from app.api.connections import guarded_http
    from app.api.memory import configure_heap
    from app.api.service import Service
    from app.telemetry.listener import MetricsListener
    from app.telemetry.logs import configure_logging

    heap_configured = configure_heap()  # before the service's threads start
    try:
        settings = Settings()
    except ValidationError as error:
        configure_logging("INFO")
        for setting, reason in refused_settings(error):
            _logger.error(f"cannot start: {setting}: {reason}", extra={"fields": {"setting": setting}})
        return 2
    configure_logging(settings.log_level)
    if not heap_configured:
        _logger.warning("the heap keeps glibc's defaults (not glibc?): requests may fault their buffers in again")
    started = time.perf_counter()
    try:
        sealed = open_models(settings)
        service = Service.start(settings, sealed)
        metrics = MetricsListener(settings.metrics_host, settings.metrics_port)
    except IntegrityError as error:
        _logger.error(str(error), extra={"fields": {"model": error.subject, "check": error.check}})
        return 3
    except (OSError, ValueError) as error:
        _logger.error(f"cannot start: {error}")
        return 2
    _logger.info("models verified", extra={"fields": {
        "lock_version": sealed.lock.lock_version, "lock_sha256": sealed.lock_sha256,
        "signature_verified": sealed.signature_verified, "sealed": service.is_sealed,
        "models": {m.name: m.sha256 for m in sealed.lock.models},
        "startup_s": round(time.perf_counter() - started, 3),
        "timings_s": {k: round(v, 3) for k, v in service.startup_timings_s.items()},
    }})
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal to the handler it
    # found; this one turns that into a clean exit 0 (an orchestrator reads non-zero as a crash).
    signal.signal(signal.SIGTERM, lambda *_: _logger.info("drained after SIGTERM, exiting"))
    metrics.start()
    # proxy_headers=False: uvicorn would otherwise take X-Forwarded-For from any local process as the client's
    # address, and a guesser could give each wrong key a new address (the throttle keys on the peer).
    http = guarded_http(settings.head_timeout_s, settings.max_connections)
    uvicorn.run(create_app(service), host=args.host, port=args.port, log_config=None, timeout_graceful_shutdown=30,
                server_header=False, proxy_headers=False, http=http, timeout_keep_alive=settings.keep_alive_s)
    metrics.stop()
    return 0


def cmd_models_build(args: argparse.Namespace) -> int:
    """Run the build in the build environment (TensorFlow and tf2onnx never enter the runtime)."""
    python = Path(os.environ.get("FACESEAL_BUILD_PYTHON", REPO_ROOT / ".venv-build/bin/python"))
    if not python.exists():
        print(f"no build environment at {python}: run `make build-env` (or set FACESEAL_BUILD_PYTHON)", file=sys.stderr)
        return 2
    forwarded = [
        *(["--models-dir", str(args.models_dir)] if args.models_dir else []),
        *(["--mirror", str(args.mirror)] if args.mirror else []),
        *(["--signing-key", str(args.signing_key)] if args.signing_key else []),
        *(["--update-lock"] if args.update_lock else []),
    ]
    # Fixed argv, no shell: the build environment's python on our own module.
    return subprocess.call([str(python), "-m", "models.build", *forwarded], cwd=REPO_ROOT)  # nosec B603


def cmd_models_verify(args: argparse.Namespace) -> int:
    try:
        settings = Settings(models_dir=args.models_dir) if args.models_dir else Settings()
    except ValidationError as error:
        for setting, reason in refused_settings(error):
            print(f"{setting}: {reason}", file=sys.stderr)
        return 2
    try:
        sealed = open_models(settings)
    except IntegrityError as error:
        print(error, file=sys.stderr)
        return 3
    print(f"lock_version {sealed.lock.lock_version}  sha256 {sealed.lock_sha256}  signature "
          f"{'verified' if sealed.signature_verified else 'NOT CHECKED'}"
          f"{'  NOT SEALED (development mode)' if settings.development else ''}")
    print(f"{'model':<30} {'role':<18} {'version':<8} {'size':>10}  {'sha256':<64}  checks")
    for model in sealed.models.values():
        entry = model.entry
        print(f"{entry.name:<30} {entry.role:<18} {entry.version:<8} {entry.size:>10}  {entry.sha256}"
              "  digest io kat ok")
    print(f"policy {sealed.lock.policy.version} {sealed.lock.policy.sha256}  ok")
    print("gate: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in sealed.timings_s.items()))
    return 0


def cmd_models_sign(args: argparse.Namespace) -> int:
    from app.integrity.gate import LOCK_NAME, SIGNATURE_NAME
    from app.integrity.signing import sign

    lock = args.models_dir / LOCK_NAME
    (args.models_dir / SIGNATURE_NAME).write_text(sign(lock.read_bytes(), args.key) + "\n")
    print(f"signed {lock}")
    return 0


def _keys_file(args: argparse.Namespace) -> Path | None:
    path: Path | None = args.file or Settings().api_keys_file
    if path is None:
        print("name the keys file with --file or FACESEAL_API_KEYS_FILE", file=sys.stderr)
    return path


def cmd_keys_create(args: argparse.Namespace) -> int:
    from app.api.auth import create_key

    if (path := _keys_file(args)) is None:
        return 2
    print(create_key(path, args.client_id, args.details))
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    """Client ids with each key's fingerprint (the first 12 hex digits of its digest): enough to tell keys
    apart and revoke one, nothing to authenticate with."""
    from app.api.auth import load_keys

    if (path := _keys_file(args)) is None:
        return 2
    for key in load_keys(path):
        print(f"{key.client_id}\t{key.sha256[:12]}\t{'details' if key.details else '-'}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from app.api.auth import revoke_keys

    if (path := _keys_file(args)) is None:
        return 2
    revoked = revoke_keys(path, args.client_id, args.fingerprint)
    for key in revoked:
        print(f"revoked {key.client_id}\t{key.sha256[:12]}")
    if not revoked:
        print(f"no key of client {args.client_id!r} matches", file=sys.stderr)
        return 1
    print("restart the service (or roll its pods) for the change to take effect", file=sys.stderr)
    return 0


def _pipeline(draft: "Policy | None" = None) -> "Pipeline":
    """The sealed pipeline; under a `draft` policy instead of the sealed one for calibration, which must
    score with the draft's capture rules before the draft can be sealed."""
    import dataclasses

    from app.inference.options import pipeline_options
    from app.inference.pipeline import Pipeline  # heavy: only for the commands that run models

    settings = Settings()
    sealed = open_models(settings)
    options = pipeline_options(settings, sealed)
    return Pipeline(sealed, options if draft is None else dataclasses.replace(options, policy=draft))


def cmd_eval(args: argparse.Namespace) -> int:
    from app.eval.liveness import evaluate_liveness, format_table
    from app.eval.plots import plot_liveness, plot_verify
    from app.eval.verify import evaluate_verify

    pipeline = _pipeline()
    if args.what == "verify":
        if len(args.data) > 1:
            print("eval verify takes one --data folder", file=sys.stderr)
            return 2
        report, scores = evaluate_verify(pipeline, args.data[0])
        if args.plot:
            plot_verify(scores, args.plot)
    else:
        report, scored = evaluate_liveness(pipeline, args.data)
        print(format_table(report))
        if args.plot:
            plot_liveness(scored, pipeline.policy.liveness, args.plot)
    text = json.dumps(report, indent=2, default=float)
    if args.what == "verify" or not args.json:
        print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from app.eval.calibrate import calibrate
    from app.inference.policy import Policy

    draft = Policy.from_bytes(args.draft.read_bytes())
    text = calibrate(_pipeline(draft), draft, args.verify_data, args.liveness_data, args.version, args.apcer,
                     args.bpcer)
    args.out.write_text(text)
    print(text)
    print(f"written to {args.out}; seal it: faceseal models build --update-lock --signing-key KEY")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="faceseal", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="verify models, then serve the API")
    add_listen_arguments(serve)
    serve.set_defaults(run=cmd_serve)

    models = commands.add_parser("models", help="build, verify and sign the sealed model set").add_subparsers(
        dest="action", required=True)
    build = models.add_parser("build", help="build every model from pinned sources (build environment)")
    build.add_argument("--models-dir", type=Path, help="where artifacts go (default: FACESEAL_MODELS_DIR or models/)")
    build.add_argument("--mirror", type=Path, help="folder of URL-pinned files (default: FACESEAL_MODEL_MIRROR)")
    build.add_argument("--update-lock", action="store_true", help="rewrite models.lock (lock_version + 1)")
    build.add_argument("--signing-key", type=Path, help="Ed25519 PEM key that signs a rewritten lock")
    build.set_defaults(run=cmd_models_build)
    verify = models.add_parser("verify", help="run the startup integrity gate offline")
    verify.add_argument("--models-dir", type=Path)
    verify.set_defaults(run=cmd_models_verify)
    sign = models.add_parser("sign", help="sign models.lock with an Ed25519 key")
    sign.add_argument("--key", type=Path, required=True)
    sign.add_argument("--models-dir", type=Path, default=Path("models"))
    sign.set_defaults(run=cmd_models_sign)

    keys = commands.add_parser("keys", help="API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="add a key (stored hashed) and print it once")
    create.add_argument("client_id")
    create.add_argument("--file", type=Path)
    create.add_argument("--details", action="store_true",
                        help="answers to this key carry scores, thresholds and face geometry (docs/API.md)")
    create.set_defaults(run=cmd_keys_create)
    listing = keys.add_parser("list", help="client ids and key fingerprints")
    listing.add_argument("--file", type=Path)
    listing.set_defaults(run=cmd_keys_list)
    revoke = keys.add_parser("revoke", help="remove a client's keys (a lost key: revoke it, then create a new one)")
    revoke.add_argument("client_id")
    revoke.add_argument("--fingerprint", default="", help="only the key whose fingerprint (keys list) starts so")
    revoke.add_argument("--file", type=Path)
    revoke.set_defaults(run=cmd_keys_revoke)

    evaluate = commands.add_parser("eval", help="evaluate on a labelled folder")
    evaluate.add_argument("what", choices=["verify", "liveness"])
    evaluate.add_argument("--data", type=Path, required=True, action="append",
                          help="labelled folder; liveness takes several (sources are validated leave-one-out)")
    evaluate.add_argument("--json", type=Path)
    evaluate.add_argument("--plot", type=Path)
    evaluate.set_defaults(run=cmd_eval)

    calibration = commands.add_parser("calibrate", help="derive the policy's operating points from labelled data")
    calibration.add_argument("--verify-data", type=Path, required=True)
    calibration.add_argument("--liveness-data", type=Path, required=True, action="append")
    calibration.add_argument("--draft", type=Path, default=Path("models/policy.toml"),
                             help="policy whose capture rules, flip averaging and margins are kept")
    calibration.add_argument("--version", required=True)
    calibration.add_argument("--apcer", type=float, default=0.01)
    calibration.add_argument("--bpcer", type=float, default=0.05)
    calibration.add_argument("--out", type=Path, default=Path("models/policy.toml"))
    calibration.set_defaults(run=cmd_calibrate)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
