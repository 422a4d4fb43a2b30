"""Property tests: every holder round-trips; the binary parsers survive garbage.

The fuzz tests are marked slow; their example count is KALDIBRIDGE_FUZZ_EXAMPLES (default 200).
"""

from __future__ import annotations

import io
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kaldibridge.errors import KaldiBridgeError
from kaldibridge.kaldi.table import SequentialTableReader, compress, decompress, get_holder
from kaldibridge.kaldi.table.readers import _read_key
from kaldibridge.kaldi.table.xfilename import InputStream

FUZZ = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))
fuzz_settings = settings(
    max_examples=FUZZ, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
prop_settings = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite32 = st.floats(-1e6, 1e6, width=32, allow_nan=False)
int32s = st.integers(-(2**31), 2**31 - 1)
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8)


def mats(dtype=np.float32, elements=finite32):
    shape = st.tuples(st.integers(0, 12), st.integers(0, 6)).map(lambda s: s if s[0] and s[1] else (0, 0))
    return shape.flatmap(lambda s: hnp.arrays(dtype, s, elements=elements))


def vecs(dtype=np.float32, elements=finite32):
    return st.integers(0, 12).flatmap(lambda n: hnp.arrays(dtype, n, elements=elements))


posteriors = st.lists(st.lists(st.tuples(int32s, finite32), max_size=4), max_size=5)
VALUES = {
    "matrix": mats(),
    "double_matrix": mats(np.float64, st.floats(-1e12, 1e12, allow_nan=False)),
    "vector": vecs(),
    "double_vector": vecs(np.float64, st.floats(-1e12, 1e12, allow_nan=False)),
    "int_vector": vecs(np.int32, int32s),
    "int_vector_vector": st.lists(vecs(np.int32, int32s), max_size=5),
    "posterior": posteriors,
    "int": int32s,
    "float": finite32,
    "double": st.floats(-1e300, 1e300, allow_nan=False),
    "bool": st.booleans(),
    "token": keys,
    "token_vector": st.lists(keys, max_size=4),
    "htk_matrix": mats(),
    "sphinx_matrix": st.integers(0, 5).flatmap(lambda n: hnp.arrays(np.float32, (n, 13), elements=finite32)),
}
BINARY_ONLY = ("htk_matrix", "sphinx_matrix")


def _stream(data: bytes) -> InputStream:
    return InputStream(io.BytesIO(data), "<fuzz>", size=len(data))


def _read_archive(holder, data: bytes) -> list:
    s = _stream(data)
    out = []
    while True:
        k = _read_key(s, "<fuzz>")
        if k is None:
            return out
        out.append((k, holder.read(s)))


def _same(holder_name: str, a, b, text: bool) -> bool:
    if holder_name == "htk_matrix":
        a = a[0]
    if holder_name in ("int_vector_vector",):
        return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
    if holder_name == "posterior":
        return len(a) == len(b) and all(
            len(x) == len(y) and all(i == j and (w == pytest.approx(v, rel=1e-6, abs=1e-30)) for (i, w), (j, v) in zip(x, y))
            for x, y in zip(a, b)
        )
    if isinstance(b, np.ndarray):
        a = np.asarray(a)
        if a.shape != b.shape:
            return False
        if text and b.dtype.kind == "f":
            return np.allclose(a, b, rtol=1e-6, atol=0)
        return np.array_equal(a, b)
    if text and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-6)
    return a == b


@pytest.mark.parametrize("holder_name", sorted(VALUES))
@pytest.mark.parametrize("binary", [True, False])
def test_holder_roundtrip(holder_name: str, binary: bool) -> None:
    if holder_name in BINARY_ONLY and not binary:
        pytest.skip("HTK and Sphinx matrices are binary only")
    holder = get_holder(holder_name)

    @prop_settings
    @given(st.lists(st.tuples(keys, VALUES[holder_name]), min_size=1, max_size=3))
    def check(entries) -> None:
        data = b"".join(k.encode() + b" " + holder.write(v, binary) for k, v in entries)
        got = _read_archive(holder, data)
        assert [k for k, _ in got] == [k for k, _ in entries]
        for (_, a), (_, b) in zip(got, entries):
            assert _same(holder_name, a, b, not binary)

    check()


@prop_settings
@given(mats(elements=st.floats(-100, 100, width=32)), st.integers(1, 7))
def test_compressed_roundtrip_close(m: np.ndarray, method: int) -> None:
    if method in (4, 6):
        m = np.round(m).astype(np.float32) + (128 if method == 6 else 0)
    if method == 7:
        m = np.abs(m) / 100
    cm = compress(m, method)
    back = decompress(cm)
    assert back.shape == m.shape
    if m.size:
        span = float(m.max() - m.min()) if method in (1, 2, 3, 5) else {4: 65535, 6: 255, 7: 1}[method]
        step = max(span, 1e-30) / (255 if cm.fmt != 2 else 65535)
        # CM's per-column quantiles can stretch a bucket; a loose bound still catches garbage.
        assert np.abs(back - m).max() <= (64 * step if cm.fmt == 1 else step) + 1e-4 * max(1, np.abs(m).max())
    holder = get_holder("compressed_matrix")
    again = holder.read(_stream(holder.write(cm)))
    assert again == cm


def _mutate(data: bytes, draw) -> bytes:
    op = draw(st.integers(0, 3))
    if not data:
        return draw(st.binary(max_size=40))
    if op == 0:  # truncate
        return data[: draw(st.integers(0, len(data) - 1))]
    if op == 1:  # overwrite a few bytes
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        return bytes(b)
    if op == 2:  # insert garbage
        i = draw(st.integers(0, len(data)))
        return data[:i] + draw(st.binary(min_size=1, max_size=16)) + data[i:]
    # huge sizes in int32 fields
    b = bytearray(data)
    i = draw(st.integers(0, max(len(b) - 4, 0)))
    b[i : i + 4] = draw(st.sampled_from([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\xff\xff\xff\xff"]))
    return bytes(b)


FUZZ_HOLDERS = sorted(set(VALUES) | {"compressed_matrix"})


@pytest.mark.slow
@pytest.mark.filterwarnings("error")  # a warning would be an escape too
@pytest.mark.parametrize("holder_name", FUZZ_HOLDERS)
def test_fuzz_parsers(holder_name: str) -> None:
    holder = get_holder(holder_name)
    gen = VALUES.get(holder_name, mats(elements=st.floats(-10, 10, width=32)))

    @fuzz_settings
    @given(st.lists(st.tuples(keys, gen), min_size=1, max_size=2), st.booleans(), st.data())
    def check(entries, binary, data) -> None:
        if holder_name in BINARY_ONLY:
            binary = True
        raw = b"".join(k.encode() + b" " + holder.write(v, binary) for k, v in entries)
        bad = _mutate(raw, data.draw)
        try:
            _read_archive(holder, bad)
        except KaldiBridgeError:
            pass

    check()


@pytest.mark.slow
@pytest.mark.filterwarnings("error")
@given(st.binary(max_size=200))
@fuzz_settings
def test_fuzz_random_bytes_as_matrix_archive(blob: bytes) -> None:
    for name in ("matrix", "int_vector", "posterior", "compressed_matrix"):
        try:
            _read_archive(get_holder(name), blob)
        except KaldiBridgeError:
            pass


@prop_settings
@given(
    st.integers(1, 40).flatmap(
        lambda r: hnp.arrays(np.float32, (r, 3), elements=st.floats(-1e4, 1e4, width=32) | st.sampled_from([0.0, -0.0, 1e-30]))
    ),
    st.floats(-1e6, 1e6, width=32),
)
def test_char_codes_fast_path_equals_literal_kaldi(m: np.ndarray, shift: float) -> None:
    """The vectorized CM byte coding equals a literal transcription of Kaldi's FloatToChar."""
    from kaldibridge.kaldi.table import compressed as C

    m = (m + np.float32(shift)).astype(np.float32)
    col_sorted = np.sort(m.T, axis=1)
    fmt, mn, rng = C._global_header(m, 2, col_sorted)
    headers = C._column_headers(col_sorted, mn, rng)
    p = C._uint16_to_float(mn, rng, headers)
    fast = C._float_to_char(m, p, col_sorted[:, 0], col_sorted[:, -1])
    literal = C._float_to_char_exact(np.ascontiguousarray(m.T), p)
    np.testing.assert_array_equal(fast, literal)
    cm = C.compress(m, 2)
    single = C.decompress(cm)
    (batch,) = C.decompress_cm_batch([(cm.min_value, cm.range, cm.num_rows, cm.num_cols, cm.payload)])
    np.testing.assert_array_equal(single.view(np.uint32), batch.view(np.uint32))


def _prefix(entries_iter) -> tuple[list, bool]:
    """The entries yielded before the first error, and whether an error came."""
    out = []
    try:
        for k, v in entries_iter:
            out.append((k, v))
    except KaldiBridgeError:
        return out, True
    return out, False


def _general_entries(holder, data: bytes):
    s = _stream(data)
    while True:
        k = _read_key(s, "<fuzz>")
        if k is None:
            return
        yield k, holder.read(s)


@pytest.mark.slow
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("compressed", [False, True])
def test_fuzz_reader_fast_paths_match_general_parser(compressed: bool) -> None:
    # SequentialTableReader reads plain FM/DM entries and runs of CM entries on fast paths
    # (regex headers, readv, batched decoding); on any input they must yield what the
    # general holder parser yields, and fail where it fails.
    holder = get_holder("matrix")
    writer = get_holder("compressed_matrix", method=2) if compressed else holder
    gen = mats(elements=st.floats(-10, 10, width=32))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a.ark")

        @fuzz_settings
        @given(st.lists(st.tuples(keys, gen), min_size=1, max_size=4), st.data())
        def check(entries, data) -> None:
            raw = b"".join(k.encode() + b" " + writer.write(v) for k, v in entries)
            bad = _mutate(raw, data.draw) if data.draw(st.booleans()) else raw
            with open(path, "wb") as f:
                f.write(bad)
            with SequentialTableReader(f"ark:{path}") as r:
                got, got_err = _prefix(r)
            want, want_err = _prefix(_general_entries(holder, bad))
            assert got_err == want_err
            assert [k for k, _ in got] == [k for k, _ in want]
            for (_, a), (_, b) in zip(got, want):
                assert a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))

        check()
