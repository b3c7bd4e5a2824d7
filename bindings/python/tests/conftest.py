"""Shared paths for the dcs tests."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[3]
VECTORS = ROOT / "bindings" / "vectors"

# The tests must run against the freshly installed package, never a stale extension left in
# the source tree by `maturin develop` (such a build once landed in the repository).
import dcs  # noqa: E402

SOURCE_PACKAGE = ROOT / "bindings" / "python" / "python" / "dcs"
if pathlib.Path(dcs.__file__).resolve().parent == SOURCE_PACKAGE.resolve():
    raise RuntimeError(
        f"dcs was imported from the source tree ({dcs.__file__}); install the package "
        "(pip install ./bindings/python) and run pytest from bindings/python"
    )
