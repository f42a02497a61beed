"""GraphiQL works offline from any install: its assets are committed under
gotong_gql/static/graphiql/ (exactly the bytes ASSETS.json records, with their licences), the
page loads nothing else, and a wheel built from the build inputs carries every one of them."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gotong_gql.graphiql import ASSET_DIR, ASSETS, STATIC
from scripts.graphiql_assets import PINS

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ASSET_DIR / "ASSETS.json").read_text())


def test_every_asset_is_committed_with_the_checksum_and_version_recorded():
    assert set(MANIFEST["files"]) == set(ASSETS)
    for name, recorded in MANIFEST["files"].items():
        assert hashlib.sha256((ASSET_DIR / name).read_bytes()).hexdigest() == recorded["sha256"]
        assert f"{recorded['package']}/{recorded['path']}" == ASSETS[name]
        assert recorded["package"] in PINS
    assert {name: package["version"] for name, package in MANIFEST["packages"].items()} == PINS
    assert all(package["license"] == "MIT" for package in MANIFEST["packages"].values())
    tracked = subprocess.run(
        ["git", "ls-files", str(ASSET_DIR.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert {Path(path).name for path in tracked} >= {*ASSETS, "ASSETS.json"}, "commit the assets"


def test_the_licences_name_every_pinned_package():
    notices = (ASSET_DIR / "THIRD_PARTY_LICENSES.txt").read_text()
    for name, version in PINS.items():
        assert f"\n{name} {version} (MIT)\n" in notices
    assert "Copyright (c) Facebook, Inc. and its affiliates." in notices  # React's own text


def test_the_page_loads_only_the_vendored_assets():
    page = (STATIC / "graphiql.html").read_text()
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sorted(loaded) == sorted([*(f"__ASSETS__/{name}" for name in ASSETS), "data:,"])
    assert not re.search(r"https?://|//cdn|unpkg|jsdelivr", page)


@pytest.mark.slow
def test_a_wheel_carries_every_static_file(tmp_path):
    """Built like the Dockerfile does, from only what .dockerignore admits."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "gotong_gql",
        source / "gotong_gql",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    built = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
            *("--wheel-dir", str(tmp_path / "dist"), str(source)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("gotong_gql-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for path in sorted(STATIC.rglob("*")):
            if path.is_file():
                member = f"gotong_gql/{path.relative_to(STATIC.parent).as_posix()}"
                assert archive.read(member) == path.read_bytes(), member
        assert "gotong_gql/static/graphiql/graphiql.min.js" in archive.namelist()
