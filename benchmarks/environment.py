"""What a benchmark ran on: the command, the machine and the package versions."""

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import sk_pimm

REPOSITORY = Path(__file__).resolve().parents[1]

PACKAGES = (
    "torch",
    "skorch",
    "scikit-learn",
    "numpy",
    "pandas",
    "torch-rechub",
)


def describe(script, argv):
    """Return the command line, the machine and the versions, for a report."""
    return {
        "command": " ".join(["python", f"benchmarks/{script}", *argv]),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "commit": _commit(),
        "versions": {
            "sk-pimm": sk_pimm.__version__,
            **{name: _installed_version(name) for name in PACKAGES},
        },
    }


def _commit():
    """The git commit the code ran at, marked when files differed from it."""

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=REPOSITORY, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit} with uncommitted changes" if changed else commit


def _installed_version(package):
    try:
        return version(package)
    except PackageNotFoundError:
        return None
