"""The ``general_matrix`` holder keeps compressed entries compressed (Kaldi's GeneralMatrix).

Expected bytes are assembled with ``struct`` here, not by the code under test.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from kaldibridge.kaldi.table import CompressedMatrix, SequentialTableReader, TableWriter, get_holder


def _cm3(rows: int, cols: int, payload: bytes) -> bytes:
    return b"\0BCM3 " + struct.pack("<ffii", -1.0, 4.0, rows, cols) + payload


def _fm(m: np.ndarray) -> bytes:
    r, c = m.shape
    return b"\0BFM \x04" + struct.pack("<i", r) + b"\x04" + struct.pack("<i", c) + m.astype("<f4").tobytes()


def test_registered_by_name() -> None:
    assert get_holder("general_matrix").name == "general_matrix"


def test_compressed_stays_compressed_and_double_becomes_float(tmp_path: Path) -> None:
    payload = bytes(range(6))
    m = np.array([[1.5, -2.0]], dtype=np.float64)
    src = tmp_path / "in.ark"
    dm = b"\0BDM \x04" + struct.pack("<i", 1) + b"\x04" + struct.pack("<i", 2) + m.astype("<f8").tobytes()
    src.write_bytes(b"a " + _cm3(2, 3, payload) + b"b " + dm)
    got = list(SequentialTableReader(f"ark:{src}", "general_matrix"))
    assert [k for k, _ in got] == ["a", "b"]
    assert isinstance(got[0][1], CompressedMatrix)
    assert got[1][1].dtype == np.float32
    out = tmp_path / "out.ark"
    with TableWriter(f"ark:{out}", "general_matrix") as w:
        for k, v in got:
            w.write(k, v)
    assert out.read_bytes() == b"a " + _cm3(2, 3, payload) + b"b " + _fm(m)
