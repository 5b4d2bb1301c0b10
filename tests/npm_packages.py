"""Browser-side libraries the tests load from the npm registry (tus-js-client, axe-core).

Each is installed once, at a pinned version, into the tests' cache directory
(`MEDIATION_TEST_CACHE`, default ~/.cache/mediation-tests), whole or not at all so a cut
install is never taken for a cached one. Without npm or the registry a test skips, except
under CI=true (CI reaches the registry), where it fails.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("MEDIATION_TEST_CACHE", Path.home() / ".cache" / "mediation-tests"))


def npm_file(package: str, version: str, inside: str) -> Path:
    """The file `inside` the installed package (`tus-js-client`, `4`, `dist/tus.min.js`)."""
    home = CACHE / f"{package}-{version}"
    file = home / "node_modules" / package / inside
    if file.exists():
        return file
    npm = shutil.which("npm")
    if npm is None:
        _unavailable(f"npm is missing: apt-get install -y npm ({package} comes from its registry)")
    assert npm is not None
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=CACHE, prefix=f"{package}-"))
    spec = f"{package}@{version}"
    failed = _run([npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", spec], 300)
    if failed is not None:
        shutil.rmtree(staging, ignore_errors=True)
        unreachable = _run([npm, "ping"], 60)
        if unreachable is not None:
            _unavailable(f"npm cannot reach its registry to install {spec}: {unreachable}")
        pytest.fail(f"npm install {spec} failed: {failed}")
    try:
        (staging / "node_modules" / package / inside).stat()
        staging.rename(home)
    except OSError:  # another run cached it first
        shutil.rmtree(staging, ignore_errors=True)
    return file


def _run(command: list[str], timeout: float) -> str | None:
    """None if `command` succeeds; else the end of what it said."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"no answer in {timeout:.0f} s"
    return None if done.returncode == 0 else done.stderr[-1500:]


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
