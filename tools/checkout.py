"""What the recording tools (``record_3dresnets.py``, ``record_meb_metrics.py``) share: reading
another project's git checkout, whose path the user gives, through its git objects (any clone
works, whatever is checked out) and importing single files of it by path (never its package).
A problem with the checkout or the environment is a :class:`Failure`: one line with its fix."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import warnings
from pathlib import Path
from types import ModuleType


class Failure(Exception):
    """A problem with the user's checkout: printed as one line with its fix, exit status 2."""


def git(repo: Path, *args: str) -> str:
    """``git -C repo ARGS``'s output; a :class:`Failure` with git's message if it fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise Failure("git is not installed; this script reads the checkout with git") from None
    if done.returncode != 0:
        raise Failure(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout


def check_checkout(repo: Path, url: str) -> None:
    """``repo`` (the ``--repo`` option) is a folder holding a git clone of ``url``."""
    if not repo.is_dir():
        raise Failure(f"{repo}: no such folder (--repo)\n  fix: give the path of a clone of {url}")
    try:
        git(repo, "rev-parse", "--git-dir")
    except Failure:
        raise Failure(
            f"{repo}: not a git checkout (--repo)\n  fix: git clone {url} {repo}"
        ) from None


def resolve(repo: Path, ref: str, option: str) -> str:
    """The commit of ``ref`` (a branch, also as origin/REF, a tag or a commit)."""
    for cand in (ref, f"origin/{ref}"):
        try:
            return git(repo, "rev-parse", "--verify", "--quiet", f"{cand}^{{commit}}").strip()
        except Failure:
            continue
    raise Failure(
        f"{repo}: no branch, tag or commit {ref!r} ({option})\n  fix: fetch it "
        f"(git -C {repo} fetch origin {ref}:{ref}) or name another with {option}"
    )


def require(*modules: str) -> None:
    """The packages a recording needs are installed (else a :class:`Failure` saying where)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise Failure(
                f"{exc.name} is not installed\n  fix: run this with the Python of "
                f"mer-fast's environment (make setup; .venv/bin/python)"
            ) from None


def import_from_git(repo: Path, commit: str, file: str, tmp: Path, name: str) -> ModuleType:
    """The file ``file`` of ``repo`` at ``commit``, written to ``tmp/NAME.py`` and imported from
    there as the module ``name`` (its own warnings silenced)."""
    path = tmp / f"{name}.py"
    path.write_text(git(repo, "show", f"{commit}:{file}"))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    return module
