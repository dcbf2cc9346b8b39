"""`python -m models.build`: build every model from its pinned sources and check it against the lock.

Run in the build environment (TensorFlow, tf2onnx, onnx). Only `--update-lock` writes the lock.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from models.build.builder import build_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faceseal models build", description=__doc__)
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--sources", type=Path, default=root / "sources.toml")
    parser.add_argument("--lock", type=Path, default=root / "models.lock")
    parser.add_argument("--policy", type=Path, default=root / "policy.toml")
    parser.add_argument("--models-dir", type=Path, default=Path(os.environ.get("FACESEAL_MODELS_DIR", root)))
    parser.add_argument("--mirror", type=Path, default=os.environ.get("FACESEAL_MODEL_MIRROR") or None)
    parser.add_argument("--update-lock", action="store_true", help="rewrite the lock (lock_version + 1)")
    parser.add_argument("--signing-key", type=Path, default=os.environ.get("FACESEAL_SIGNING_KEY") or None,
                        help="Ed25519 private key (PEM) that signs a rewritten lock")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        build_all(args.sources, args.policy, args.lock, args.models_dir, args.mirror, args.update_lock,
                  args.signing_key)
    except Exception as error:  # noqa: BLE001 (one clear line for the operator, non-zero exit)
        print(f"models build failed: {error}", file=sys.stderr)
        return 1
    print(f"models build ok in {time.monotonic() - started:.1f} s -> {args.models_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
