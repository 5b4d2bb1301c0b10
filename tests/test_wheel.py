"""The wheel as a user gets it: built from the sources, installed into a fresh venv,
run from a directory that is not the repository.

The wheel is built with pip's build isolation (setuptools from the configured index),
from a copy of the sources: an in-tree build/ could otherwise slip stale files into it.
The venv sees the system's site-packages, so the dependencies need no download, but
`mediation` itself must come from the wheel: the test checks where it is imported from.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow  # ~8 s on an idle machine, 20 s and more under load
REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "mediation", "rooms", "transcripts", "frontend")
API_KEY = "wheel-test-api-key"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(REPO / name, source / name)
    build = ["wheel", str(source), "-w", str(work / "dist"), "--no-deps", "-q"]
    subprocess.run(
        [sys.executable, "-m", "pip", *build],
        check=True,
        cwd=work,
        timeout=300,
    )
    (built,) = (work / "dist").glob("mediation-*.whl")
    return built


def test_the_wheel_carries_every_module_the_web_app_and_the_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        path.relative_to(REPO).as_posix()
        for package in ("mediation", "rooms", "transcripts")
        for path in (REPO / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert modules - names == set()  # a package missing from pyproject's list shows here
    web_app = {
        "mediation/frontend/" + path.relative_to(REPO / "frontend").as_posix()
        for path in (REPO / "frontend").rglob("*")
        if path.is_file()
    }
    assert web_app - names == set()
    assert "mediation/migrations/env.py" in names
    assert not any(name.startswith("frontend/") for name in names)  # nothing at the top


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(where)],
        check=True,
        timeout=120,
    )
    # --ignore-installed: beside the system's (editable) install, never over it
    install = ["install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)]
    subprocess.run(
        [str(where / "bin" / "python"), "-m", "pip", *install],
        check=True,
        timeout=120,
    )
    return where


def clean_env(**extra: str) -> dict[str, str]:
    """No PYTHONPATH to lead back to the repository, no MEDIATION_* from the caller."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "PYTHONPATH" and not name.startswith("MEDIATION_") and name != "PORT"
    }
    return {**env, **extra}


@pytest.fixture
def served(venv: Path, tmp_path: Path) -> Iterator[str]:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = clean_env(
        MEDIATION_DATA_DIR=str(tmp_path / "data"),
        MEDIATION_API_KEY=API_KEY,
        MEDIATION_LOG_FORMAT="text",
        PORT=str(port),
    )
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [str(venv / "bin" / "mediation"), "serve"],
            cwd=elsewhere,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, "the server did not become healthy"
                try:
                    if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield base
            server.send_signal(signal.SIGTERM)
            assert server.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()


def test_mediation_is_imported_from_the_venv_not_the_repository(venv: Path, tmp_path: Path) -> None:
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import mediation; print(mediation.__file__)"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(found).is_relative_to(venv), found
    assert not Path(found).is_relative_to(REPO), found


def test_the_installed_server_serves_the_web_app_and_migrates(served: str) -> None:
    with httpx.Client(base_url=served, timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        page = http.get("/")
        assert page.status_code == 200
        assert page.text == (REPO / "frontend" / "index.html").read_text()
        console = http.get("/console.html")
        assert console.status_code == 200
        assert console.text == (REPO / "frontend" / "console.html").read_text()
        for module in ("/protocol.js", "/room/view.js"):
            script = http.get(module)
            assert script.status_code == 200, module
            assert "javascript" in script.headers["content-type"]
            assert script.text == (REPO / "frontend" / module.lstrip("/")).read_text()
        opened = http.post(
            "/api/rooms",
            headers={"authorization": f"Bearer {API_KEY}"},
            json={"ticket": {"provider": "local", "id": "W-1"}, "client": "c", "freelancer": "f"},
        )
        assert opened.status_code == 201, opened.text
        assert (
            http.get(
                f"/api/rooms/{opened.json()['id']}", headers={"authorization": f"Bearer {API_KEY}"}
            ).status_code
            == 200
        )
