"""Kaldi's compressed matrices (``CM``, ``CM2``, ``CM3``), encoded and decoded bit-exactly.

Layouts (all little-endian, after the token ``CM ``, ``CM2 `` or ``CM3 ``):

* a global header: float32 ``min_value``, float32 ``range``, int32 ``num_rows``,
  int32 ``num_cols``;
* ``CM`` (one byte per value with per-column headers): ``num_cols`` headers of four uint16
  quantiles (0, 25, 75, 100 %), then the bytes column by column;
* ``CM2``: uint16 per value, row by row; value = min + u * (range / 65535);
* ``CM3``: uint8 per value, row by row; value = min + u * (range / 255).

Compression methods (Kaldi's ``--compression-method``): 1 automatic (``CM`` if more than 8
rows, else ``CM2``), 2 speech feature (``CM``), 3 two-byte auto (``CM2``), 4 two-byte signed
integer (``CM2``, range -32768..32767), 5 one-byte auto (``CM3``), 6 one-byte unsigned integer
(``CM3``, 0..255), 7 one-byte zero-one (``CM3``, 0..1).

Everything is vectorized numpy and reproduces Kaldi's float32/float64 arithmetic step by
step (including C's truncating float-to-int conversion), so the bytes written equal those of
``copy-feats --compress=true`` and decoded values equal Kaldi's ``CopyToMat``.

Two paths give the same bits: the numpy one above, and, when numba is available, compiled
element-wise kernels (:mod:`kaldibridge.kaldi.table._cm_kernels`) for decoding ``CM``
straight into the row-major output and for ``CM``'s byte quantization. A process uses the
kernels once numba is already loaded in it or once it has coded more than
:data:`CM_COMPILE_AFTER_BYTES` of float data (encoding counts four times), so that
a run of a few hours of features does not pay numba's start-up.
``KALDIBRIDGE_NO_NUMBA=1`` keeps everything on numpy.

Kaldi: ``CompressedMatrix`` (``src/matrix/compressed-matrix.cc``).
Differences: an empty matrix is written as ``CM `` plus a 16-byte all-zero header; Kaldi
writes 20 bytes (one uninitialized), which its own archive reader cannot step over.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from kaldibridge.errors import FormatError
from kaldibridge.kaldi.table._cm_kernels import cm_decode_kernel, cm_encode_kernel

__all__ = [
    "CompressedMatrix",
    "compress",
    "decompress",
    "CompressionMethod",
    "parse_compressed",
    "decompress_cm_batch",
    "iter_cm_batch",
    "CM_COMPILE_AFTER_BYTES",
    "cm_kernels_available",
]

CompressionMethod = Literal[1, 2, 3, 4, 5, 6, 7]

_F32 = np.float32
_INV_65535_F = _F32(1.52590218966964e-05)
_INT_MIN = np.int64(-(2**31))
_BELOW_HALF = np.nextafter(_F32(0.5), _F32(0))
_GLOBAL = np.dtype([("min_value", "<f4"), ("range", "<f4"), ("num_rows", "<i4"), ("num_cols", "<i4")])

# Importing numba and running its first (cached) kernel costs a process about 0.7 s of CPU.
# Measured whole-process (copy-feats, 80-dim features, 115 MB float32 per hour), the kernels
# then save about 0.05-0.1 s per hour decoded (0.5-1 ms/MB) and 0.26 s per hour encoded
# (2.3 ms/MB). So a process that has not imported numba yet stays on numpy (same bits)
# until the time it could have saved reaches the loading cost: this many bytes of float32
# data (rows x cols x 4) decoded from ``CM``, where encoding counts four times its bytes.
# That is about nine hours of features decoded or two and a half encoded; a copy-feats of
# one hour stays on numpy (with the kernels from the start it took 1.2 s instead of 0.45 s
# decoding, 1.6 s instead of 1.0 s encoding). Tests and benchmarks may set it to 0.
CM_COMPILE_AFTER_BYTES = 2**30
_ENCODE_WEIGHT = 4
_cm_bytes_coded = 0


def cm_kernels_available() -> bool:
    """Whether the compiled ``CM`` kernels can run (numba installed and not disabled)."""
    return cm_decode_kernel.compiled() is not None


def _cm_kernel(kernel: Any, nbytes: int) -> Callable[..., Any] | None:
    """The compiled ``kernel`` if the policy above picks it, counting ``nbytes`` more work."""
    global _cm_bytes_coded
    _cm_bytes_coded += nbytes
    return kernel.compiled_if_worth_it(_cm_bytes_coded, CM_COMPILE_AFTER_BYTES)


def _c_int(d: np.ndarray) -> np.ndarray:
    """C's ``static_cast<int>(double)`` on x86-64: truncation, INT_MIN when out of range/NaN."""
    with np.errstate(invalid="ignore"):
        ok = np.abs(d) < 2147483648.0
        return np.where(ok, np.trunc(np.where(ok, d, 0.0)), _INT_MIN).astype(np.int64)


def _float_to_uint(values: np.ndarray, min_value: np.float32, rng: np.float32, scale: int) -> np.ndarray:
    """Kaldi ``FloatToUint16``/``FloatToUint8`` (int64 result, before the narrowing cast).

    ``f = (v - min) / range`` in float32, clamped to [0, 1] (NaN gives 0, as C's
    conversion of NaN does after the narrowing), ``int(f * scale + 0.499)`` with the
    product in float32 and the sum in double.
    """
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        f = np.subtract(values, min_value, dtype=_F32)
        f /= rng
        np.fmax(f, _F32(0.0), out=f)
        np.fmin(f, _F32(1.0), out=f)
        f *= _F32(scale)
        d = f.astype(np.float64)
    d += 0.499
    return d.astype(np.int64)


def _uint16_to_float(min_value: np.float32, rng: np.float32, u: np.ndarray) -> np.ndarray:
    """Kaldi ``Uint16ToFloat``: min + (range * (1/65535)f) * u, all in float32."""
    return min_value + (rng * _INV_65535_F) * u.astype(_F32)


@dataclass(frozen=True)
class CompressedMatrix:
    """A compressed matrix as stored on disk (kept compressed until decoded).

    Attributes:
        fmt: 1 (``CM``), 2 (``CM2``) or 3 (``CM3``).
        min_value, range: the global header floats.
        num_rows, num_cols: the shape.
        payload: the bytes after the 16-byte global header.
    """

    fmt: int
    min_value: float
    range: float
    num_rows: int
    num_cols: int
    payload: bytes

    @property
    def shape(self) -> tuple[int, int]:
        return (self.num_rows, self.num_cols)

    def to_bytes(self) -> bytes:
        """The binary form without the ``\\0B`` header: token + global header + payload."""
        token = {1: b"CM ", 2: b"CM2 ", 3: b"CM3 "}[self.fmt]
        head = np.array(
            [(self.min_value, self.range, self.num_rows, self.num_cols)], dtype=_GLOBAL
        ).tobytes()
        return token + head + self.payload

    def numpy(self, dtype: type = np.float32) -> np.ndarray:
        """Decodes to a new array of shape ``(num_rows, num_cols)``."""
        return decompress(self, dtype)


def _payload_size(fmt: int, rows: int, cols: int) -> int:
    if fmt == 1:
        return cols * (8 + rows)
    if fmt == 2:
        return 2 * rows * cols
    return rows * cols


def parse_compressed(
    fmt: int, header: bytes, payload_reader: Callable[[int], bytes], where: str
) -> CompressedMatrix:
    """Builds a :class:`CompressedMatrix` from its 16-byte header and a payload reader.

    Args:
        fmt: 1, 2 or 3 (from the token).
        header: the 16 header bytes.
        payload_reader: ``callable(nbytes) -> bytes`` reading exactly that many bytes.
        where: description for error messages (file, offset).

    Raises:
        FormatError: negative or inconsistent sizes.
    """
    h = np.frombuffer(header, dtype=_GLOBAL)[0]
    rows, cols = int(h["num_rows"]), int(h["num_cols"])
    if cols == 0 or rows == 0:
        if rows < 0 or cols < 0:
            raise FormatError(f"{where}: compressed matrix with negative size {rows}x{cols}")
        return CompressedMatrix(fmt, float(h["min_value"]), float(h["range"]), 0, 0, b"")
    if rows < 0 or cols < 0:
        raise FormatError(f"{where}: compressed matrix with negative size {rows}x{cols}")
    payload = payload_reader(_payload_size(fmt, rows, cols))
    return CompressedMatrix(
        fmt, float(h["min_value"]), float(h["range"]), rows, cols, payload
    )


# Steps of each segment of the byte code, pre-scaled by the exact power-of-two widths
# (bytes 0..64 -> step/64, bytes 65..192 -> step/128); the last segment (1/63) is done
# in double, as Kaldi does.
_S0 = (np.arange(0, 65) * (1 / 64.0)).astype(_F32)[:, None]
_S1 = (np.arange(1, 129) * (1 / 128.0)).astype(_F32)[:, None]
_S2 = np.arange(1, 64).astype(_F32)[:, None]
_INV = np.repeat([1 / 64.0, 1 / 128.0, 1 / 63.0], [65, 128, 63])
_SEG_OF = np.repeat(np.arange(3), [65, 128, 63])
_STEP = (np.arange(256) - np.array([0, 64, 192])[_SEG_OF]).astype(_F32)


def _cm_tables(min_value: np.float32, rng: np.float32, headers: np.ndarray) -> np.ndarray:
    """Lookup tables (256, cols) reproducing Kaldi's ``CharToFloat`` for every byte value.

    Kaldi computes ``p_lo + (p_hi - p_lo) * step * (1/width)`` with the float product
    widened to double, the sum in double and the result rounded to float. For widths 64
    and 128 the scaling is exact and the double sum of two floats rounds to the same float
    as a float sum, so those segments are computed in float32; the 1/63 segment (and any
    column with subnormal quantile gaps, where the float product could lose bits, or gaps
    over 1e36, where it overflows) in double.
    """
    return _tables_from_p(_uint16_to_float(min_value, rng, headers))


def _tables_from_p(p: np.ndarray) -> np.ndarray:
    """:func:`_cm_tables` from the (cols, 4) quantile floats: (256, cols), byte-major.

    Byte-major keeps numpy's inner loops long (all columns at once) when many matrices'
    columns are built together.
    """
    pt = np.ascontiguousarray(p.T)  # (4, cols)
    d = pt[1:] - pt[:3]
    ad = np.abs(d)
    # Literal evaluation for subnormal-prone gaps, non-finite quantiles, and gaps so wide
    # that Kaldi's float product gap * step overflows to inf (|gap| * 255 > FLT_MAX).
    if np.any((ad != 0) & (ad < 1e-30)) or not np.all(np.isfinite(pt)) or np.any(ad > 1e36):
        lo = pt[_SEG_OF]
        prod = (pt[_SEG_OF + 1] - lo) * _STEP[:, None]
        return (prod.astype(np.float64) * _INV[:, None] + lo).astype(_F32)
    out = np.empty((256, pt.shape[1]), dtype=_F32)
    np.multiply(_S0, d[0], out=out[:65])
    out[:65] += pt[0]
    np.multiply(_S1, d[1], out=out[65:193])
    out[65:193] += pt[1]
    # Last segment: the float product, scaled and offset in double, rounded once to float.
    tail = np.multiply(_S2, d[2]).astype(np.float64)
    tail *= 1 / 63.0
    tail += pt[2]
    out[193:] = tail
    return out


def _gather_cm(table: np.ndarray, codes: np.ndarray, stride: int, col0: int) -> np.ndarray:
    """Decodes ``codes`` (cols, rows) uint8 into a new C-contiguous (rows, cols) array.

    ``table`` is a flattened byte-major (256, stride) table; this matrix's columns are
    ``col0 .. col0 + cols - 1`` of it. The index arithmetic and the gather run in the
    codes' own (column-major) memory order, which is cheapest; one transposing copy at the
    end gives the row-major result (Kaldi's layout, and what uncompressed reads return).
    """
    idx = codes.T.astype(np.intp)  # keeps the column-major layout
    if stride != 1:
        idx *= stride
    idx += _col_range(col0, codes.shape[0])
    return np.ascontiguousarray(table[idx])


@functools.lru_cache(maxsize=256)
def _col_range(col0: int, cols: int) -> np.ndarray:
    a = np.arange(col0, col0 + cols, dtype=np.intp)
    a.setflags(write=False)
    return a


def decompress(cm: CompressedMatrix, dtype: type = np.float32) -> np.ndarray:
    """Decodes a compressed matrix exactly as Kaldi's ``CompressedMatrix::CopyToMat``.

    Args:
        cm: the compressed matrix.
        dtype: ``np.float32`` (default) or ``np.float64`` (values are computed in float32,
            as Kaldi does, then widened).

    Returns:
        A new array ``(num_rows, num_cols)``.
    """
    rows, cols = cm.num_rows, cm.num_cols
    if rows == 0 or cols == 0:
        return np.zeros((0, 0), dtype=dtype)
    # Garbage headers decode to inf/NaN, as in Kaldi: not worth a warning.
    with np.errstate(all="ignore"):
        return _decompress(cm, dtype)


def _cm1_parts(payload: Any, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Views of a ``CM`` payload: the per-column uint16 quantiles ``(cols, 4)`` and the
    byte codes ``(cols, rows)`` (stored column by column)."""
    headers = np.frombuffer(payload, dtype="<u2", count=4 * cols).reshape(cols, 4)
    codes = np.frombuffer(payload, dtype=np.uint8, offset=8 * cols, count=rows * cols)
    return headers, codes.reshape(cols, rows)


def _decompress(cm: CompressedMatrix, dtype: type) -> np.ndarray:
    rows, cols = cm.num_rows, cm.num_cols
    mn, rg = _F32(cm.min_value), _F32(cm.range)
    buf = cm.payload
    if cm.fmt == 1:
        headers, codes = _cm1_parts(buf, rows, cols)
        kernel = _cm_kernel(cm_decode_kernel, 4 * rows * cols)
        if kernel is not None:
            out = np.empty((rows, cols), dtype=_F32)
            kernel(mn, rg, headers, codes, out)
        else:
            table = _cm_tables(mn, rg, headers)  # (256, cols)
            out = _gather_cm(table.reshape(-1), codes, cols, 0)
    elif cm.fmt == 2:
        inc = _F32(np.float64(rg) * (1.0 / 65535.0))
        data = np.frombuffer(buf, dtype="<u2", count=rows * cols).reshape(rows, cols)
        out = mn + data.astype(_F32) * inc
    else:
        inc = _F32(np.float64(rg) * (1.0 / 255.0))
        data = np.frombuffer(buf, dtype=np.uint8, count=rows * cols).reshape(rows, cols)
        table = (mn + np.arange(256, dtype=_F32) * inc).astype(_F32)
        out = np.take(table, data)
    if out.dtype != dtype:
        out = out.astype(dtype)
    return out


def _min_max(a: np.ndarray, col_sorted: np.ndarray | None) -> tuple[np.float32, np.float32]:
    """Kaldi's ``Min()``/``Max()``: the first extreme in row-major order (matters for -0.0)."""
    if col_sorted is not None:
        mn, mx = col_sorted[:, 0].min(), col_sorted[:, -1].max()
    else:
        mn, mx = a.min(), a.max()
    if mn == 0 or mx == 0:  # the sign of a zero extreme depends on which comes first
        flat = a.reshape(-1)
        mn, mx = flat[int(np.argmin(flat))], flat[int(np.argmax(flat))]
    return _F32(mn), _F32(mx)


def decompress_cm_batch(
    items: list[tuple[float, float, int, int, Any]], dtype: type = np.float32
) -> list[np.ndarray]:
    """Decodes many ``CM`` (format 1) matrices at once, bit-identical to :func:`decompress`.

    The lookup tables of all their columns are built together (one set of numpy calls for
    the whole batch), then each matrix is decoded by one gather from them, which saves most
    of the per-matrix numpy call overhead when reading an archive sequentially.

    Args:
        items: ``(min_value, range, num_rows, num_cols, payload)`` per matrix, each with
            ``num_rows, num_cols > 0``; ``payload`` is any buffer of the bytes after the
            global header.
        dtype: output dtype.

    Returns:
        One new ``(num_rows, num_cols)`` array per item (C-contiguous, writable, sharing
        memory with nothing else).
    """
    return list(iter_cm_batch(items, dtype))


def iter_cm_batch(
    items: list[tuple[float, float, int, int, Any]], dtype: type = np.float32
) -> Iterator[np.ndarray]:
    """:func:`decompress_cm_batch` as a generator: the tables are built at the first
    ``next()``, each matrix is decoded when asked for (so a reader keeps one decoded
    matrix alive at a time, not the whole batch)."""
    if not items:
        return
    kernel = _cm_kernel(cm_decode_kernel, sum(4 * it[2] * it[3] for it in items))
    if kernel is not None:
        # element by element straight into each new row-major array: no tables
        for mn_, rg_, r, c, payload in items:
            headers, codes = _cm1_parts(payload, r, c)
            m = np.empty((r, c), dtype=_F32)
            kernel(_F32(mn_), _F32(rg_), headers, codes, m)
            yield m if m.dtype == dtype else m.astype(dtype)
        return
    with np.errstate(all="ignore"):
        cols_a = np.array([it[3] for it in items], dtype=np.intp)
        headers = np.concatenate(
            [np.frombuffer(it[4], dtype="<u2", count=4 * it[3]).reshape(it[3], 4) for it in items]
        )
        mn = np.repeat(np.array([it[0] for it in items], dtype=_F32), cols_a)[:, None]
        rg = np.repeat(np.array([it[1] for it in items], dtype=_F32), cols_a)[:, None]
        p = mn + (rg * _INV_65535_F) * headers.astype(_F32)  # Uint16ToFloat, column-wise
        table = _tables_from_p(p).reshape(-1)  # (256 * total cols,): byte-major
    stride = int(cols_a.sum())
    col0 = 0
    for _, _, r, c, payload in items:
        m = _gather_cm(table, _cm1_parts(payload, r, c)[1], stride, col0)
        yield m if m.dtype == dtype else m.astype(dtype)
        col0 += c


def _global_header(
    a: np.ndarray, method: int, col_sorted: np.ndarray | None = None
) -> tuple[int, np.float32, np.float32]:
    if method == 1:
        method = 2 if a.shape[0] > 8 else 3
    fmt = {2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 3}.get(method)
    if fmt is None:
        raise FormatError(f"invalid compression method {method} (expected 1..7)")
    if method in (2, 3, 5):
        mn, mx = _min_max(a, col_sorted)
        if not (np.isfinite(mn) and np.isfinite(mx)):
            raise FormatError("cannot compress a matrix containing NaN or Inf values")
        if mx == mn:
            mx = _F32(np.float64(mn) + (1.0 + abs(np.float64(mn))))
        return fmt, mn, _F32(mx - mn)
    if method == 4:
        return fmt, _F32(-32768.0), _F32(65535.0)
    if method == 6:
        return fmt, _F32(0.0), _F32(255.0)
    return fmt, _F32(0.0), _F32(1.0)


def _column_headers(col_sorted: np.ndarray, mn: np.float32, rng: np.float32) -> np.ndarray:
    """Kaldi ``ComputeColHeader`` for all columns; ``col_sorted`` is (cols, rows), each
    column sorted (Kaldi's ``nth_element`` calls pick exactly these order statistics)."""
    n = col_sorted.shape[1]
    if n >= 5:
        q = n // 4
        picks = [0, q, 3 * q, n - 1]
    else:
        picks = list(range(n))
    u = _float_to_uint(col_sorted[:, picks], mn, rng, 65535) & 0xFFFF
    have = len(picks)
    cols = col_sorted.shape[0]
    h = np.empty((cols, 4), dtype=np.int64)
    h[:, 0] = np.minimum(u[:, 0], 65532)
    bounds = (65533, 65534, None)
    for i in range(1, 4):
        if i < have:
            v = np.maximum(u[:, i], h[:, i - 1] + 1)
            h[:, i] = v if bounds[i - 1] is None else np.minimum(v, bounds[i - 1])
        else:
            h[:, i] = h[:, i - 1] + 1
    return h.astype("<u2")


def _float_to_char(mat: np.ndarray, p: np.ndarray, col_min: np.ndarray, col_max: np.ndarray) -> np.ndarray:
    """Kaldi ``FloatToChar`` for a whole matrix; returns uint8 (cols, rows).

    ``mat`` is (rows, cols); ``p`` holds the (cols, 4) quantile floats. Each of the three
    segments is evaluated for every value with its clamp (a value below a segment gives
    0, one above gives the segment's width), so the code is the sum of the three clamped
    segment codes. The float arithmetic is Kaldi's (float32, C rounding of ``x + 0.5``).
    When a segment's width is not a positive finite float or a scaled value could
    overflow int32, the literal (slower) transcription is used instead.
    """
    pt = np.ascontiguousarray(p.T)  # (4, cols): rows broadcast along the leading axis
    lows = pt[:3]
    dens = pt[1:] - pt[:3]
    mults = np.array([64.0, 128.0, 63.0], dtype=_F32)[:, None]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        spread = np.maximum(np.abs(col_max[None, :] - lows), np.abs(col_min[None, :] - lows))
        bound = spread / dens * mults
    if not (np.all(np.isfinite(dens)) and np.all(dens > 0) and np.all(bound < 2.0**29)):
        return _float_to_char_exact(np.ascontiguousarray(mat.T), p)
    # code = r0 + r1 + r2 with r0 in [0, 64], r1 in [0, 128], r2 in [0, 63]. On [0, 128]
    # floor(float32(x + 0.49999997)) equals the exact floor(x + 0.5) that Kaldi's double
    # sum and truncation give (checked over every float32 in that range).
    total = np.empty(mat.shape, dtype=_F32)
    x = np.empty(mat.shape, dtype=_F32)
    for seg in range(3):
        buf = total if seg == 0 else x
        np.subtract(mat, lows[seg], out=buf)
        buf /= dens[seg]
        buf *= mults[seg]
        np.clip(buf, _F32(0), mults[seg], out=buf)
        buf += _BELOW_HALF
        np.floor(buf, out=buf)
        if seg:
            total += x
    return np.ascontiguousarray(total.astype(np.uint8).T)


def _float_to_char_exact(mat_t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Kaldi ``FloatToChar``, literally (any input); ``mat_t`` (cols, rows), ``p`` (cols, 4)."""
    p0, p25, p75, p100 = (p[:, i : i + 1] for i in range(4))
    b1 = mat_t < p25
    b2 = mat_t < p75
    lo = np.where(b1, p0, np.where(b2, p25, p75))
    hi = np.where(b1, p25, np.where(b2, p75, p100))
    mult = np.where(b1, _F32(64), np.where(b2, _F32(128), _F32(63)))
    base = np.where(b1, 0, np.where(b2, 64, 192))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        f = (mat_t - lo) / (hi - lo)
        d = (f * mult).astype(np.float64) + 0.5
    ans = base + _c_int(d)
    top = np.where(b1, 64, np.where(b2, 192, 255))
    return np.clip(ans, base, top).astype(np.uint8)


def compress(mat: np.ndarray, method: int = 1) -> CompressedMatrix:
    """Compresses a matrix exactly as Kaldi's ``CompressedMatrix(mat, method)``.

    Args:
        mat: ``(rows, cols)`` float array (float64 input is converted to float32 first,
            which gives the same result as Kaldi's double path).
        method: Kaldi compression method 1..7 (see module doc).

    Returns:
        The :class:`CompressedMatrix`.

    Raises:
        FormatError: invalid method, a non-2-D input, or NaN/Inf with an automatic method.
    """
    a = np.asarray(mat)
    if a.ndim != 2:
        raise FormatError(f"can only compress a 2-D matrix, got shape {a.shape}")
    if method not in (1, 2, 3, 4, 5, 6, 7):
        raise FormatError(f"invalid compression method {method} (expected 1..7)")
    a = np.ascontiguousarray(a, dtype=_F32)
    rows, cols = a.shape
    if rows == 0 or cols == 0:
        return CompressedMatrix(1, 0.0, 0.0, 0, 0, b"")
    speech = method == 2 or (method == 1 and rows > 8)
    col_sorted = np.sort(a.T, axis=1) if speech else None  # NaN sorts last: caught below
    fmt, mn, rng = _global_header(a, method, col_sorted)
    if fmt == 1 and col_sorted is not None:
        headers = _column_headers(col_sorted, mn, rng)
        p = _uint16_to_float(mn, rng, headers)
        kernel = _cm_kernel(cm_encode_kernel, _ENCODE_WEIGHT * a.nbytes)
        if kernel is not None:
            chars = np.empty((cols, rows), dtype=np.uint8)
            kernel(a, p, chars)
        else:
            chars = _float_to_char(a, p, col_sorted[:, 0], col_sorted[:, -1])
        payload = headers.tobytes() + chars.tobytes()
    elif fmt == 2:
        payload = (_float_to_uint(a, mn, rng, 65535) & 0xFFFF).astype("<u2").tobytes()
    else:
        payload = (_float_to_uint(a, mn, rng, 255) & 0xFF).astype(np.uint8).tobytes()
    return CompressedMatrix(fmt, float(mn), float(rng), rows, cols, payload)
