"""What a benchmark ran on: the command, the machine and the package versions."""

import os
import platform
from importlib.metadata import PackageNotFoundError, version

PACKAGES = (
    "sk-pimm",
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
        "versions": {name: _installed_version(name) for name in PACKAGES},
    }


def _installed_version(package):
    try:
        return version(package)
    except PackageNotFoundError:
        return None
