"""What a sandbox sees of the filesystem when bubblewrap builds it: a minimal read-only root.

Only these, read-only: the operating system's programs and libraries (/usr and the /bin, /lib, ... links
or directories beside it), the few /etc files the dynamic linker and time functions read, the Python
installation the verifier runs on (its prefix, with every site-packages and dist-packages directory under
it hidden) and the packages test programs may import, each bound on its own into `SITE`. Plus a private
size-limited /tmp (the working directory /tmp/work), /dev/shm, a minimal /dev and the sandbox's own /proc.

So no benchmark data (the HumanEval and MBPP+ files live in site-packages or a checkout), no project
checkout, no home directories beyond the path to the interpreter, and no /run, /var/run or other socket
directories are there to read or connect to.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

SITE = "/codescaler/site-packages"  # where the allowed packages appear inside the sandbox
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
# Packages test programs commonly import (LiveCodeBench, TACO and Codeforces solutions use numpy); only those
# installed next to the verifier are bound.
DEFAULT_PACKAGES = ("numpy",)


@dataclass(frozen=True)
class View:
    """Bind mounts (host source, sandbox target), symlinks (target, link), hidden directories, and the
    directories the harness puts on sys.path. runner._bwrap turns them into bubblewrap's options."""

    binds: tuple[tuple[str, str], ...]
    links: tuple[tuple[str, str], ...]
    hidden: tuple[str, ...]
    site_dirs: tuple[str, ...]


def view(packages: tuple[str, ...] = DEFAULT_PACKAGES) -> View:
    prefix = os.path.realpath(sys.base_prefix)
    binds: list[tuple[str, str]] = []
    links: list[tuple[str, str]] = []
    for path in SYSTEM:
        if os.path.islink(path):
            links.append((os.readlink(path), path))
        elif os.path.isdir(path):
            binds.append((path, path))
    binds += [(path, path) for path in ETC if os.path.exists(path)]
    if not any(_under(prefix, source) for source, _ in binds):
        binds.append((prefix, prefix))
    roots = [target for _, target in binds]
    hidden = sorted(
        {path for path in _site_directories(prefix) if os.path.isdir(path) and _under_any(path, roots)}
    )
    for name in packages:
        for top in _top_level(name):
            binds.append((str(top), f"{SITE}/{top.name}"))
    return View(tuple(binds), tuple(links), tuple(hidden), (SITE,))


def _site_directories(prefix: str) -> list[str]:
    """Every place an interpreter under the bound trees could import third-party packages from."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    paths = sysconfig.get_paths(vars={"base": prefix, "platbase": prefix})
    found = [paths["purelib"], paths["platlib"]]
    for base in ("/usr/lib", "/usr/local/lib", "/usr/lib64", "/usr/local/lib64"):
        found += [
            f"{base}/{version}/site-packages",
            f"{base}/{version}/dist-packages",
            f"{base}/python3/dist-packages",
        ]
    return found


def _top_level(name: str) -> list[Path]:
    """The top-level files and directories an installed distribution put in its site-packages (the package,
    its .libs, its .dist-info); nothing when it is not installed."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return []
    root = Path(str(distribution.locate_file("")))
    tops = {Path(str(f)).parts[0] for f in distribution.files or () if not str(f).startswith("..")}
    return [root / top for top in sorted(tops) if (root / top).exists()]


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _under_any(path: str, roots: list[str]) -> bool:
    return any(_under(path, root) for root in roots)
