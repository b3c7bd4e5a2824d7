"""Shared paths for the dcs tests."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[3]
VECTORS = ROOT / "bindings" / "vectors"
