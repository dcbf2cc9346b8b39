#!/usr/bin/env python3
"""Pin an overlay to a released image, by digest only.

    deploy/kubernetes/set-image.py REPO@sha256:DIGEST [--overlay deploy/kubernetes/overlays/production]

REPO@sha256:DIGEST is what docker/release.sh prints ("released ...") and writes to build/release/compose.env.
A tag (REPO:1.2), a short or upper-case digest, or anything else is refused: the cluster runs exactly the
bytes that were signed. Rewrites the overlay's `images` entry for the base's placeholder image (newName and
digest) in place, leaving the rest of the file as it is; `kubectl kustomize OVERLAY` then shows the reference
in the pod spec.
"""

import argparse
import re
import sys
from pathlib import Path

OVERLAY = Path(__file__).resolve().parent / "overlays/production"
REFERENCE = re.compile(r"^(?P<repo>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+)"
                       r"@(?P<digest>sha256:[0-9a-f]{64})$")
ENTRY = re.compile(r"(?P<head>^images:\n  - name: registry\.invalid/faceseal\n    newName: )\S+"
                   r"(?P<mid>\n    digest: )\S+$", re.M)


def set_image(overlay: Path, reference: str) -> str:
    match = REFERENCE.match(reference.strip())
    if match is None:
        raise ValueError(f"not REPO@sha256:<64 hex>: {reference!r} (tags are refused; use docker/release.sh's digest)")
    if match["digest"] == "sha256:" + "0" * 64:
        raise ValueError("the all-zero digest is the placeholder, not a release")
    path = overlay / "kustomization.yaml"
    text = path.read_text()
    updated, count = ENTRY.subn(rf"\g<head>{match['repo']}\g<mid>{match['digest']}", text)
    if count != 1:
        raise ValueError(f"{path}: no single `images` entry for registry.invalid/faceseal (newName, digest) to rewrite")
    path.write_text(updated)
    return f"{match['repo']}@{match['digest']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", help="REPO@sha256:DIGEST, as docker/release.sh printed it")
    parser.add_argument("--overlay", type=Path, default=OVERLAY)
    args = parser.parse_args()
    try:
        pinned = set_image(args.overlay, args.reference)
    except ValueError as error:
        print(f"set-image: {error}", file=sys.stderr)
        return 2
    print(f"{args.overlay / 'kustomization.yaml'}: faceseal -> {pinned}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
