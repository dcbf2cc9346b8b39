"""Assemble the runtime's operating-system files and complete the SBOM with what is kept.

Runs in the Dockerfile's `rootfs` stage, on the base image plus the venv, with the base's python3:
    python3 rootfs.py ROOT SBOM LOCK
Copies into ROOT the CPython interpreter and standard library the venv runs on, and every shared
library that `ldd` finds for an ELF file kept there or in /opt/venv; nothing else, so the image has no
shell, package manager, perl or setuid binary. Each kept file is attributed to the Debian package that
installed it (the build fails on a file no package owns); the SBOM gains one component per package,
listing the kept files as evidence, and one per sealed model from the lock.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

VENV = Path("/opt/venv")
# Standard-library parts the service never imports: build tooling the deps stage needed, and extensions
# for terminals and legacy databases that would pull in readline, ncurses, Berkeley DB and (through nis)
# the Kerberos/RPC stack.
UNUSED_STDLIB = {"venv", "ensurepip", "distutils", "lib2to3",
                 "readline", "_curses", "_curses_panel", "_dbm", "_gdbm", "nis"}
LDD_PATH = re.compile(r"(?:=> )?(/\S+) \(0x")


def canonical(path: Path) -> Path:
    """The path with its directories resolved (bookworm's /lib is /usr/lib) but the file itself not."""
    return Path(os.path.realpath(path.parent)) / path.name


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def interpreter_and_stdlib() -> set[Path]:
    """The interpreter the venv's symlinks lead to, and its standard library less the unused parts."""
    kept = {Path(os.readlink(VENV / "bin/python3"))}
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in stdlib.rglob("*"):
        top = path.relative_to(stdlib).parts[0]
        module = path.name.split(".")[0] if top == "lib-dynload" else top
        if not path.is_dir() and module not in UNUSED_STDLIB:
            kept.add(path)
    return kept


def shared_libraries(files: set[Path]) -> set[Path]:
    """Every library the dynamic loader resolves for the ELF files among `files` (ldd gives the closure)."""
    found = set()
    for path in sorted(p for p in files if p.is_file() and not p.is_symlink() and is_elf(p)):
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True).stdout
        if "not found" in out:
            sys.exit(f"{path}: a needed library is missing:\n{out}")
        found |= {canonical(Path(m)) for m in LDD_PATH.findall(out)}
    return {p for p in found if not p.is_relative_to(VENV)}  # the venv's bundled libraries ship with it


def with_link_targets(paths: set[Path]) -> set[Path]:
    """Add what each symlink points to, through chains (libz.so.1 -> libz.so.1.2.13)."""
    closed, todo = set(), [canonical(p) for p in paths]
    while todo:
        path = todo.pop()
        if path in closed:
            continue
        closed.add(path)
        if path.is_symlink():
            todo.append(canonical(path.parent / os.readlink(path)))
    return closed


def copy_into(root: Path, paths: set[Path]) -> None:
    for path in sorted(paths):
        target = root / path.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            target.symlink_to(os.readlink(path))
        else:
            shutil.copy2(path, target)
    # bookworm is merged-/usr: the loader is /lib64/ld-linux-x86-64.so.2 in every ELF header.
    (root / "lib").symlink_to("usr/lib")
    (root / "lib64").symlink_to("usr/lib64")
    (root / "tmp").mkdir(mode=0o1777)
    (root / "tmp").chmod(0o1777)


def package_owners() -> dict[Path, str]:
    """Every file dpkg installed, by canonical path, to its package name."""
    owners = {}
    for listing in Path("/var/lib/dpkg/info").glob("*.list"):
        package = listing.stem.split(":")[0]
        for line in listing.read_text().splitlines():
            owners[canonical(Path(line))] = package
    return owners


def owner_of(path: Path, owners: dict[Path, str]) -> str:
    # Debian compiles the stdlib's .pyc at install time, so dpkg lists the .py source instead.
    if path not in owners and path.parent.name == "__pycache__":
        path = path.parent.parent / (path.name.split(".")[0] + ".py")
    if path not in owners:
        sys.exit(f"{path}: kept in the image but installed by no Debian package")
    return owners[path]


def debian_components(paths: set[Path]) -> list[dict]:
    owners = package_owners()
    files: dict[str, list[str]] = {}
    for path in sorted(paths):
        files.setdefault(owner_of(path, owners), []).append(str(path))
    query = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${Architecture}\n", *files],
                           capture_output=True, text=True, check=True).stdout
    release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    distro = "debian-" + release["VERSION_ID"].strip('"')
    components = []
    for line in sorted(query.splitlines()):
        name, version, arch = line.split("\t")
        purl = f"pkg:deb/debian/{name}@{version}?arch={arch}&distro={distro}"
        components.append({"type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl,
                           "evidence": {"occurrences": [{"location": f} for f in files[name]]}})
    return components


def model_components(lock: Path) -> list[dict]:
    return [{"type": "machine-learning-model", "bom-ref": f"model:{m['name']}@{m['version']}",
             "name": m["name"], "version": m["version"], "hashes": [{"alg": "SHA-256", "content": m["sha256"]}],
             "licenses": [{"license": {"name": m["licence"]}}],
             "evidence": {"occurrences": [{"location": f"/app/models/{m['file']}"}]}}
            for m in json.loads(lock.read_text())["models"]]


def main() -> None:
    root, sbom_path, lock = (Path(arg) for arg in sys.argv[1:4])
    base = with_link_targets(interpreter_and_stdlib())
    venv_files = {p for p in VENV.rglob("*") if not p.is_dir()}
    kept = with_link_targets(base | shared_libraries(base | venv_files))
    copy_into(root, kept)
    packages = debian_components(kept)
    sbom = json.loads(sbom_path.read_text())
    sbom["components"] += packages + model_components(lock)
    sbom_path.write_text(json.dumps(sbom, indent=2, sort_keys=True) + "\n")
    print(f"kept {len(kept)} OS files from {len(packages)} Debian packages")


if __name__ == "__main__":
    main()
