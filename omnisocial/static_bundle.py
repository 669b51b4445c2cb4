"""plotly.js served compressed: a copy of the installed plotly package's bundle in
var/static/plotly with its gzip (and Brotli, when installed) siblings, which WhiteNoise serves to
browsers that accept them (4.8 MB becomes about 1.4 MB gzipped). `make install` writes it
(`python -m omnisocial.static_bundle`); the settings fall back to the package's own, uncompressed
copy while it is missing or was made for another plotly version.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import plotly
from whitenoise.compress import Compressor

BUNDLE_DIR = Path(__file__).resolve().parent.parent / "var" / "static" / "plotly"
PACKAGE_DIR = Path(plotly.__file__).parent / "package_data"
BUNDLE = "plotly.min.js"


def _marker(directory: Path) -> Path:
    return directory / f".plotly-{plotly.__version__}"


def prepared_dir(directory: Path = BUNDLE_DIR) -> Path | None:
    """The directory of the compressed bundle, when it was made for the installed plotly."""
    ready = _marker(directory).exists() and (directory / f"{BUNDLE}.gz").exists()
    return directory if ready else None


def prepare(directory: Path = BUNDLE_DIR) -> list[Path]:
    """Copies the bundle into `directory` and writes its compressed siblings; returns them."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(".plotly-*"):
        stale.unlink()
    target = directory / BUNDLE
    shutil.copy2(PACKAGE_DIR / BUNDLE, target)
    written = [Path(p) for p in Compressor(quiet=True).compress(str(target))]
    _marker(directory).touch()
    return written


if __name__ == "__main__":
    for path in prepare():
        print(f"wrote {path.relative_to(BUNDLE_DIR.parent.parent.parent)}")
