"""plotly.js served compressed: a copy of the installed plotly package's bundle in
var/static/plotly with its gzip (and Brotli, when installed) siblings, which WhiteNoise serves to
browsers that accept them (4.8 MB becomes about 1.4 MB gzipped). `make install` writes it
(`python -m omnisocial.static_bundle`); the settings fall back to the package's own, uncompressed
copy while it is missing or was made for another plotly version.

The pages draw bars and lines only, so they load plotly.js's own partial bundle of the same
version (`plotly.js-basic-dist-min`: scatter, bar and pie; 1.1 MB, about 0.35 MB gzipped) when
`make install` could fetch it from the npm registry; without it they load the full bundle.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import plotly
from whitenoise.compress import Compressor

BUNDLE_DIR = Path(__file__).resolve().parent.parent / "var" / "static" / "plotly"
PACKAGE_DIR = Path(plotly.__file__).parent / "package_data"
BUNDLE = "plotly.min.js"
BASIC = "plotly-basic.min.js"
BASIC_PACKAGE = "plotly.js-basic-dist-min"


def _marker(directory: Path) -> Path:
    return directory / f".plotly-{plotly.__version__}"


def prepared_dir(directory: Path = BUNDLE_DIR) -> Path | None:
    """The directory of the compressed bundle, when it was made for the installed plotly."""
    ready = _marker(directory).exists() and (directory / f"{BUNDLE}.gz").exists()
    return directory if ready else None


def plotly_js_version() -> str:
    """The plotly.js version the installed plotly package ships (read from its bundle's header)."""
    with (PACKAGE_DIR / BUNDLE).open("rb") as bundle:
        head = bundle.read(400).decode("ascii", "replace")
    found = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", head)
    if found is None:
        raise RuntimeError("the plotly package's bundle names no plotly.js version")
    return found.group(1)


def basic_fetch(directory: Path) -> Path | None:
    """plotly.js's partial bundle of the package's own version, from the npm registry (`npm
    pack` checks the tarball's integrity), into `directory`; None when npm or the registry is
    not there (the pages then load the full bundle)."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    spec = f"{BASIC_PACKAGE}@{plotly_js_version()}"
    with tempfile.TemporaryDirectory() as scratch:
        try:
            packed = subprocess.run(
                [npm, "pack", spec, "--silent", "--pack-destination", scratch],
                check=True, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
        except (subprocess.SubprocessError, OSError) as exc:
            print(f"plotly's partial bundle not fetched ({spec}): {exc}", file=sys.stderr)
            return None
        tarball = Path(scratch) / packed.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as archive:
            member = archive.getmember(f"package/{BASIC}")
            source = archive.extractfile(member)
            # Its name carries the version, so browsers may keep it for good (IMMUTABLE below).
            target = directory / f"plotly-basic-{plotly_js_version()}.min.js"
            target.write_bytes(source.read())
    return target


def prepare(directory: Path = BUNDLE_DIR, *, basic: bool = True) -> list[Path]:
    """Copies the bundle into `directory` (and the partial one, when it can be fetched) and
    writes their compressed siblings; returns them."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in [*directory.glob(".plotly-*"), *directory.glob("plotly-basic*")]:
        stale.unlink()
    target = directory / BUNDLE
    shutil.copy2(PACKAGE_DIR / BUNDLE, target)
    written = [Path(p) for p in Compressor(quiet=True).compress(str(target))]
    partial = basic_fetch(directory) if basic else None
    if partial is not None:
        written += [partial, *(Path(p) for p in Compressor(quiet=True).compress(str(partial)))]
    _marker(directory).touch()
    return written


# Static URLs WhiteNoise serves as immutable (cached for a year): the versioned partial bundle.
IMMUTABLE = r"^.*/plotly/plotly-basic-\d+\.\d+\.\d+\.min\.js$"


def script_path() -> str:
    """The static path of the bundle the pages load: the partial one when prepared (and
    PLOTLY_PARTIAL is on: off serves the full one, as bench/first_visit.py compares)."""
    from django.conf import settings

    ready = prepared_dir() if settings.PLOTLY_PARTIAL else None
    partial = ready / f"plotly-basic-{plotly_js_version()}.min.js" if ready else None
    return f"plotly/{partial.name}" if partial and partial.exists() else f"plotly/{BUNDLE}"


if __name__ == "__main__":
    for path in prepare():
        print(f"wrote {path.relative_to(BUNDLE_DIR.parent.parent.parent)}")
