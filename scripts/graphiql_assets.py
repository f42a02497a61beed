"""Refresh GraphiQL's vendored assets from the npm registry: `make graphiql-assets`.

The files the page loads (gotong_gql/graphiql.py ASSETS) are committed under
gotong_gql/static/graphiql/ and shipped as package data, so that every install (a wheel, the
image, `pip install` on a machine without internet) serves GraphiQL from its own origin. This
script installs the pinned packages below with npm into a temporary directory, copies those
files, and writes next to them:

- ASSETS.json: each package's version, licence and npm integrity, and each file's package, path
  and SHA-256 (tests/test_graphiql_assets.py holds the files to it);
- THIRD_PARTY_LICENSES.txt: the licence of every package npm installs with them (the bundles
  include their dependencies).

To move to another version, change PINS, run `make graphiql-assets`, try the page, commit.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from gotong_gql.graphiql import ASSET_DIR, ASSETS

ROOT = Path(__file__).resolve().parents[1]

PINS = {
    "react": "18.2.0",
    "react-dom": "18.2.0",
    "graphiql": "3.8.3",
    "@graphiql/plugin-explorer": "1.0.2",
}
LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "license", "LICENSE-MIT")


def package_of(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:2]) if path.startswith("@") else parts[0]


def licence_text(directory: Path) -> str | None:
    for name in LICENSE_NAMES:
        if (directory / name).is_file():
            return (directory / name).read_text(errors="replace").strip()
    return None


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "install", "--prefix", tmp, "--no-audit", "--no-fund", "--omit=dev"]
            + [f"{name}@{version}" for name, version in PINS.items()],
            check=True,
        )
        modules = Path(tmp) / "node_modules"
        lock = json.loads((modules / ".package-lock.json").read_text())["packages"]
        installed = {
            key.removeprefix("node_modules/"): entry
            for key, entry in lock.items()
            if key.startswith("node_modules/") and "/node_modules/" not in key
        }
        for name, version in PINS.items():
            assert installed[name]["version"] == version, (name, installed[name]["version"])
        ASSET_DIR.mkdir(parents=True, exist_ok=True)
        files = {}
        for served, source in ASSETS.items():
            shutil.copyfile(modules / source, ASSET_DIR / served)
            files[served] = {
                "package": package_of(source),
                "path": source.removeprefix(package_of(source) + "/"),
                "sha256": hashlib.sha256((ASSET_DIR / served).read_bytes()).hexdigest(),
            }
        manifest = {
            "refreshed_by": "make graphiql-assets (scripts/graphiql_assets.py)",
            "packages": {
                name: {
                    "version": PINS[name],
                    "license": installed[name].get("license"),
                    "integrity": installed[name]["integrity"],
                }
                for name in PINS
            },
            "files": files,
        }
        (ASSET_DIR / "ASSETS.json").write_text(json.dumps(manifest, indent=2) + "\n")
        notices = [
            "Third-party software in gotong_gql/static/graphiql/ (GraphiQL and React, and the\n"
            "packages npm installs with them, which their bundles include), with its licences.\n"
        ]
        rule = "=" * 78
        for name in sorted(installed):
            licence = installed[name].get("license")
            text = licence_text(modules / name) or f"(no licence file; licence: {licence})"
            version = installed[name]["version"]
            notices.append(f"{rule}\n{name} {version} ({licence})\n{rule}\n{text}\n")
        (ASSET_DIR / "THIRD_PARTY_LICENSES.txt").write_text("\n".join(notices))
    print(f"GraphiQL assets refreshed in {ASSET_DIR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
