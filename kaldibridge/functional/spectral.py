"""Per-frame spectral pieces: DC removal, pre-emphasis, frame energy, power spectrum.

Every function works on the last dimension of a ``(..., frame_length)`` tensor and keeps the
input dtype, performing the same elementary operations in the same order as the classic
float32 C implementations (so float32 results round the same way).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from kaldibridge.functional._f32math import cosf, sinf

__all__ = [
    "remove_dc_offset",
    "frame_means",
    "numpy_path_ok",
    "preemphasis",
    "frame_energy",
    "log_energy",
    "power_spectrum",
    "packed_rfft",
    "half_complex_rfft",
    "recursive_twiddles",
    "FLT_EPSILON",
    "FLT_MIN",
]

#: float32 machine epsilon (2 ** -23), the usual floor before taking a log.
FLT_EPSILON = 1.1920928955078125e-07
#: smallest normal float32.
FLT_MIN = 1.1754943508222875e-38


def frame_means(frames: torch.Tensor) -> torch.Tensor:
    """Mean of each frame, ``(..., n) -> (..., 1)``: ``sum(x) / n`` with the sum accumulated
    in float64 and rounded once to the input dtype (as the classic C code's BLAS sum does, so
    float32 results match it), then divided in the input dtype."""
    n = frames.shape[-1]
    return frames.sum(dim=-1, keepdim=True, dtype=torch.float64).to(frames.dtype) / n


def remove_dc_offset(frames: torch.Tensor) -> torch.Tensor:
    """Subtract each frame's mean (:func:`frame_means`): ``x - sum(x) / n``.

    Args:
        frames: ``(..., n)``.

    Returns:
        ``(..., n)``, a new tensor.
    """
    return frames - frame_means(frames)


def preemphasis(frames: torch.Tensor, coeff: float) -> torch.Tensor:
    """First-order pre-emphasis inside each frame: ``y[i] = x[i] - coeff * x[i-1]``.

    The first sample uses itself as its predecessor: ``y[0] = x[0] - coeff * x[0]``.

    Args:
        frames: ``(..., n)``.
        coeff: pre-emphasis coefficient (0 returns ``frames`` unchanged).

    Returns:
        ``(..., n)``.
    """
    if coeff == 0.0:
        return frames
    prev = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
    return frames - coeff * prev


def frame_energy(frames: torch.Tensor) -> torch.Tensor:
    """Sum of squares of each frame, ``(..., n) -> (...)``."""
    return (frames * frames).sum(dim=-1)


def log_energy(frames: torch.Tensor, floor: float = FLT_EPSILON) -> torch.Tensor:
    """``log(max(sum(x ** 2), floor))`` per frame, ``(..., n) -> (...)``."""
    return torch.log(torch.clamp_min(frame_energy(frames), floor))


def power_spectrum(frames: torch.Tensor, n_fft: int | None = None, power: bool = True) -> torch.Tensor:
    """One-sided power (or magnitude) spectrum of each frame.

    Args:
        frames: ``(..., n)`` real; zero-padded to ``n_fft`` (default ``n``) before the FFT.
        n_fft: FFT size (>= n).
        power: ``re**2 + im**2`` if true, else its square root (magnitude).

    Returns:
        ``(..., n_fft // 2 + 1)`` in the input dtype.
    """
    spec = torch.fft.rfft(frames, n=n_fft, dim=-1)
    p = spec.real * spec.real + spec.imag * spec.imag
    if not power:
        p = torch.sqrt(p)
    return p


def packed_rfft(frames: torch.Tensor, n_fft: int | None = None) -> torch.Tensor:
    """Real FFT in the packed layout ``[re0, re(N/2), re1, im1, re2, im2, ...]``.

    This is the in-place layout of classic real-FFT routines: the imaginary parts of the
    DC and Nyquist bins (always zero) are dropped so the result has ``n_fft`` values.

    Args:
        frames: ``(..., n)`` real, zero-padded to ``n_fft`` (even).

    Returns:
        ``(..., n_fft)``.
    """
    n = frames.shape[-1] if n_fft is None else n_fft
    spec = torch.view_as_real(torch.fft.rfft(frames, n=n, dim=-1))  # (..., n/2+1, 2)
    head = torch.stack([spec[..., 0, 0], spec[..., -1, 0]], dim=-1)
    body = spec[..., 1 : n // 2, :].reshape(frames.shape[:-1] + (n - 2,))
    return torch.cat([head, body], dim=-1)


@lru_cache(maxsize=32)
def recursive_twiddles(n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """Twiddle factors ``w^k`` (``w = exp(-2 pi i / n_fft)``), ``k = 1 .. n_fft // 4``,
    generated the way many float32 real-FFT codes do: by repeated complex multiplication
    in float32, starting from ``w`` as GNU libm's ``cosf``/``sinf`` return it. Their rounding error grows with
    ``k``, which measurably changes low-energy spectrum bins; reproducing it reproduces
    those codes' results.

    Returns:
        ``(re, im)`` float32 numpy arrays ``(n_fft // 4,)``.
    """
    f = np.float32
    ang = f(-2.0 * math.pi / n_fft)
    root_re = cosf(ang)
    root_im = sinf(ang)
    k_re, k_im = f(1.0), f(0.0)
    count = n_fft // 4
    out_re = np.empty(count, dtype=np.float32)
    out_im = np.empty(count, dtype=np.float32)
    for k in range(count):  # constant table, built once per size
        t_re = f(f(k_re * root_re) - f(k_im * root_im))
        k_im = f(f(k_re * root_im) + f(k_im * root_re))
        k_re = t_re
        out_re[k] = k_re
        out_im[k] = k_im
    return out_re, out_im


_NUMPY_CHUNK = 256  # frames per numpy FFT call: keeps the work set in cache


def numpy_path_ok(x: torch.Tensor) -> bool:
    """Whether a numpy (or torch CPU, no autograd) path may replace the generic torch one
    for ``x``: a float32/float64 CPU tensor outside autograd and ``torch.compile``."""
    return (
        x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and not (x.requires_grad and torch.is_grad_enabled())
        and not torch.compiler.is_compiling()
    )


def _half_complex_rfft_numpy(
    frames: torch.Tensor, n_fft: int, twiddles: tuple[torch.Tensor, torch.Tensor] | None, ordered: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`half_complex_rfft` with ``complex_fft="split_radix"`` through numpy, chunk by
    chunk of frames (split-radix FFT and split step while the chunk is in cache).
    Same operations in the same dtype as the torch path, so bit-identical results."""
    from kaldibridge.functional.srfft import split_radix_fft_planar

    lead = frames.shape[:-1]
    a = frames.detach().reshape(-1, frames.shape[-1]).numpy()
    f, n = a.shape
    dt = a.dtype.type
    half, q = n_fft // 2, n_fft // 4
    if twiddles is None:
        tr_np, ti_np = recursive_twiddles(n_fft)
    else:
        tr_np, ti_np = twiddles[0].detach().cpu().numpy(), twiddles[1].detach().cpu().numpy()
    tr = tr_np.astype(dt).reshape(q, 1)
    ti = ti_np.astype(dt).reshape(q, 1)
    ntr = -tr
    has_centre = 2 * q == half
    nm = q - 1 if has_centre else q
    bins = half + 1
    out = np.empty((2, f, bins), dtype=dt)
    half_c, quarter = dt(0.5), dt(-0.5)
    for j in range(0, f, _NUMPY_CHUNK):
        c = min(_NUMPY_CHUNK, f - j)
        blk = np.zeros((2, half, c), dtype=dt)  # planes of samples 2k and 2k + 1, frames as columns
        cols = a[j : j + c].T
        blk[0, : (n + 1) // 2] = cols[0::2]
        blk[1, : n // 2] = cols[1::2]
        y = split_radix_fft_planar(blk)
        bk_r, bk_i = y[0, 1 : q + 1], y[1, 1 : q + 1]
        bm = y[:, half - 1 : half - 1 - q : -1] if half - 1 - q >= 0 else y[:, half - 1 :: -1]
        bm_r, bm_i = bm[0], bm[1]
        ck_r = half_c * (bk_r + bm_r)
        ck_i = half_c * (bk_i - bm_i)
        dk_r = half_c * (bk_i + bm_i)
        dk_i = quarter * (bk_r - bm_r)
        res = np.empty((2, bins, c), dtype=dt)
        re, im = res[0], res[1]
        re[0] = y[0, 0] + y[1, 0]
        re[half] = y[0, 0] - y[1, 0]
        im[0] = 0
        im[half] = 0
        re[1 : q + 1] = ck_r + (tr * dk_r - ti * dk_i)
        im[1 : q + 1] = ck_i + (tr * dk_i + ti * dk_r)
        m_r = ck_r[:nm] + (ntr[:nm] * dk_r[:nm] - ti[:nm] * (-dk_i[:nm]))
        m_i = (-ck_i[:nm]) + (ntr[:nm] * (-dk_i[:nm]) + ti[:nm] * dk_r[:nm])
        if ordered:  # bins N/2 - k for k = nm .. 1
            re[q + 1 : half] = m_r[::-1]
            im[q + 1 : half] = m_i[::-1]
        else:
            re[q + 1 : half] = m_r
            im[q + 1 : half] = m_i
        out[:, j : j + c] = res.transpose(0, 2, 1)
    t = torch.from_numpy(out)
    return t[0].reshape(lead + (bins,)), t[1].reshape(lead + (bins,))


def half_complex_rfft(
    frames: torch.Tensor,
    n_fft: int,
    twiddles: tuple[torch.Tensor, torch.Tensor] | None = None,
    complex_fft: str = "torch",
    fft_tables: object | None = None,
    ordered: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real FFT computed as a complex FFT of half length plus a split step.

    The even and odd samples form a complex signal ``z`` of length ``n_fft / 2``; with
    ``B = FFT(z)``, ``C_k = (B_k + conj(B_{N/2-k})) / 2``, ``D_k = -i (B_k - conj(B_{N/2-k})) / 2``
    and ``X_k = C_k + w^k D_k``. The split step is carried out in the input dtype with the
    given twiddles (default :func:`recursive_twiddles`), in the operation order of the
    classic C code, so float32 results round like it.

    Args:
        frames: ``(..., n)`` real with ``n <= n_fft``; zero-padded to ``n_fft`` (even).
        n_fft: FFT size.
        twiddles: ``(re, im)`` tensors ``(n_fft // 4,)``.
        complex_fft: ``"torch"`` (``torch.fft.fft``) or ``"split_radix"``
            (:func:`kaldibridge.functional.srfft.split_radix_fft`, which rounds like the
            classic C split-radix code, or for ``n_fft / 2`` not a power of two
            :func:`~kaldibridge.functional.srfft.mixed_radix_fft`).
        fft_tables: prebuilt ``kaldibridge.functional.srfft.fft_tables(n_fft // 2, ...)``
            for the ``"split_radix"`` mode (required under ``torch.compile``).
        ordered: if false, skip the final reordering: bins come in the order given by
            :func:`half_complex_rfft_order` (saves a copy when only a permutation-invariant
            use such as a matrix product with permuted weights follows).

    Returns:
        ``(real, imag)``, each ``(..., n_fft // 2 + 1)``.
    """
    if n_fft % 2 != 0:
        raise ValueError(f"half_complex_rfft needs an even FFT size, got {n_fft}")
    n = frames.shape[-1]
    half = n_fft // 2
    if complex_fft == "split_radix" and half >= 2 and half & (half - 1) == 0 and n <= n_fft and numpy_path_ok(frames):
        return _half_complex_rfft_numpy(frames, n_fft, twiddles, ordered)
    if n < n_fft:
        frames = torch.nn.functional.pad(frames, (0, n_fft - n))
    pairs = frames.reshape(frames.shape[:-1] + (half, 2))
    if complex_fft == "split_radix" and half >= 2 and half & (half - 1) == 0:
        from kaldibridge.functional.srfft import split_radix_fft

        lead = frames.shape[:-1]
        flat = pairs.reshape(-1, half, 2)
        zr, zi = split_radix_fft(flat[..., 0].t(), flat[..., 1].t(), fft_tables)  # type: ignore[arg-type]
        br = zr.t().reshape(lead + (half,))
        bi = zi.t().reshape(lead + (half,))
    elif complex_fft == "split_radix" and half > 1:
        from kaldibridge.functional.srfft import mixed_radix_fft

        br, bi = mixed_radix_fft(pairs[..., 0], pairs[..., 1], fft_tables)  # type: ignore[arg-type]
    else:
        b = torch.fft.fft(torch.view_as_complex(pairs.contiguous()), dim=-1)
        br, bi = b.real, b.imag
    if twiddles is None:
        tr_np, ti_np = recursive_twiddles(n_fft)
        tr = torch.from_numpy(tr_np).to(dtype=frames.dtype, device=frames.device)
        ti = torch.from_numpy(ti_np).to(dtype=frames.dtype, device=frames.device)
    else:
        tr, ti = twiddles
    q = n_fft // 4
    # One contiguous (2, ..., N/2) copy of B and one reversed copy: rev[j] = B[N/2 - 1 - j],
    # so B[N/2 - k] for k = 1 .. q is rev[0 : q].
    bri = torch.stack([br, bi])
    rev = bri.flip(-1)
    bk_r, bk_i = bri[0, ..., 1 : q + 1], bri[1, ..., 1 : q + 1]
    bm_r, bm_i = rev[0, ..., :q], rev[1, ..., :q]
    ck_r = 0.5 * (bk_r + bm_r)
    ck_i = 0.5 * (bk_i - bm_i)
    dk_r = 0.5 * (bk_i + bm_i)
    dk_i = -0.5 * (bk_r - bm_r)
    a_r = ck_r + (tr * dk_r - ti * dk_i)
    a_i = ck_i + (tr * dk_i + ti * dk_r)
    # mirror bins N/2 - k, k = 1 .. q (k = q mirrors onto itself when N/4 is whole)
    m_r = ck_r + ((-tr) * dk_r - ti * (-dk_i))
    m_i = (-ck_i) + ((-tr) * (-dk_i) + ti * dk_r)
    zeroth = bri[0, ..., :1] + bri[1, ..., :1]
    nyq = bri[0, ..., :1] - bri[1, ..., :1]
    zero = torch.zeros_like(zeroth)
    has_centre = 2 * q == half
    mid = torch.stack([m_r[..., : q - 1], m_i[..., : q - 1]] if has_centre else [m_r, m_i])
    if ordered:
        mid = mid.flip(-1)
    real = torch.cat([zeroth, a_r, mid[0], nyq], dim=-1)
    imag = torch.cat([zero, a_i, mid[1], zero], dim=-1)
    return real, imag


def half_complex_rfft_order(n_fft: int) -> np.ndarray:
    """Bin index at each position of :func:`half_complex_rfft` output with ``ordered=False``."""
    half, q = n_fft // 2, n_fft // 4
    has_centre = 2 * q == half
    mirror = [half - k for k in range(1, q if has_centre else q + 1)]
    return np.array([0, *range(1, q + 1), *mirror, half], dtype=np.int64)


# ----------------------------------------------------------------------------------------
# Planar column layout for CPU: the frames of a chunk are laid out as the columns of the
# FFT input, even samples in one plane and odd samples in the other (the real and imaginary
# parts of the half-length complex FFT, see :func:`half_complex_rfft`). Framing, DC removal,
# pre-emphasis and windowing write straight into the buffer that
# :func:`~kaldibridge.functional.srfft.split_radix_fft_planar` reads, and the split step
# hands the power spectrum over in the same layout, so every step works on contiguous
# blocks of rows. Each elementary operation is the one the frame-major functions above
# perform, in the same dtype, so results round alike.


def frames_to_planes(
    frames: np.ndarray,
    out: np.ndarray,
    window: tuple[np.ndarray, np.ndarray],
    mean: np.ndarray | None,
    preemph: float,
    energies: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    work: np.ndarray | None = None,
) -> None:
    """DC removal, pre-emphasis and windowing of frames, written as planar columns.

    Args:
        frames: ``(frames, n)`` raw samples (any strides, e.g. an unfolded signal); not
            modified.
        out: ``(2, n_fft / 2, frames)`` with ``n_fft >= n``: sample ``2k`` of each frame
            goes to ``out[0, k]``, sample ``2k + 1`` to ``out[1, k]``; the zero padding up
            to ``n_fft`` is written too.
        window: the window's even and odd samples, ``((n + 1) // 2, 1)`` and ``(n // 2, 1)``.
        mean: ``(frames,)`` mean of each frame to subtract first (``sum / n`` as
            :func:`remove_dc_offset` computes it; the summation order matters where later
            steps amplify rounding), or ``None``.
        preemph: pre-emphasis coefficient (:func:`preemphasis`; 0 skips it).
        energies: optional ``(frames,)`` outputs for the sum of squares of each frame
            after DC removal (before pre-emphasis) and of the windowed frame.
        work: optional work space of ``out``'s shape (allocated if needed and ``None``).
    """
    n = frames.shape[1]
    ne, no = (n + 1) // 2, n // 2
    even, odd = out[0, :ne], out[1, :no]
    cols = frames.T
    if mean is not None:
        np.subtract(cols[0::2], mean, out=even)
        np.subtract(cols[1::2], mean, out=odd)
    else:
        even[...] = cols[0::2]
        odd[...] = cols[1::2]
    out[0, ne:] = 0
    out[1, no:] = 0
    raw, windowed = energies
    if raw is not None:
        _sum_squares(even, odd, raw)
    if preemph != 0.0 and n:
        c = even.dtype.type(preemph)
        if work is None:
            work = np.empty_like(out)
        scaled_even = np.multiply(even, c, out=work[0, :ne])  # c x[2k], before any update
        if ne > 1:
            t = np.multiply(odd[: ne - 1], c, out=work[1, : ne - 1])
            even[1:] -= t  # x[2k] - c x[2k - 1]
        even[0] -= scaled_even[0]  # x[0] - c x[0]
        odd -= scaled_even[:no]  # x[2k + 1] - c x[2k]
    even *= window[0]
    odd *= window[1]
    if windowed is not None:
        _sum_squares(even, odd, windowed)


def _sum_squares(even: np.ndarray, odd: np.ndarray, out: np.ndarray) -> None:
    np.einsum("ij,ij->j", even, even, out=out)
    out += np.einsum("ij,ij->j", odd, odd)


def half_complex_power_planar(
    y: np.ndarray,
    twiddles: tuple[np.ndarray, np.ndarray],
    out: np.ndarray,
    power: bool = True,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Power (or magnitude) spectrum from the half-length complex FFT, planar columns.

    The split step of :func:`half_complex_rfft` followed by ``re**2 + im**2``, with the
    same float operations (the mirror bins use ``c - w d`` where the frame-major code
    writes ``c + (-w) d``, which rounds identically).

    Args:
        y: ``(2, n_fft / 2, frames)`` complex FFT of the even/odd sample pairs (real and
            imaginary planes).
        twiddles: ``(re, im)`` arrays ``(n_fft / 4, 1)`` (see :func:`recursive_twiddles`).
        out: ``(n_fft / 2 + 1, frames)`` output, bins in natural order.
        power: if false, the square root of the power (magnitude).
        work: optional work space ``(6, n_fft / 4, frames)`` (allocated if ``None``).

    Returns:
        ``out``.
    """
    half = y.shape[1]
    q = half // 2
    dt = y.dtype.type
    tr, ti = twiddles
    if work is None:
        work = np.empty((6, q, y.shape[2]), dtype=y.dtype)
    ck_r, ck_i, w2, w3, u, v = work
    bk_r, bk_i = y[0, 1 : q + 1], y[1, 1 : q + 1]
    stop = half - 1 - q if half - 1 - q >= 0 else None
    bm_r, bm_i = y[0, half - 1 : stop : -1], y[1, half - 1 : stop : -1]
    hc = dt(0.5)
    np.add(bk_r, bm_r, out=ck_r)
    ck_r *= hc
    np.subtract(bk_i, bm_i, out=ck_i)
    ck_i *= hc
    dk_r = np.add(bk_i, bm_i, out=w2)
    dk_r *= hc
    dk_i = np.subtract(bm_r, bk_r, out=w3)  # -0.5 (bk_r - bm_r), exactly
    dk_i *= hc
    np.multiply(tr, dk_r, out=u)  # u = tr dk_r - ti dk_i
    np.multiply(ti, dk_i, out=v)
    u -= v
    np.multiply(tr, dk_i, out=v)  # v = tr dk_i + ti dk_r
    t = np.multiply(ti, dk_r, out=w3)  # dk_i is no longer needed
    v += t
    r0 = y[0, 0] + y[1, 0]
    rn = y[0, 0] - y[1, 0]
    np.multiply(r0, r0, out=out[0])
    np.multiply(rn, rn, out=out[half])
    a = np.add(ck_r, u, out=w2)
    b = np.add(ck_i, v, out=w3)
    np.multiply(a, a, out=out[1 : q + 1])
    b *= b
    out[1 : q + 1] += b
    # mirror bins half - k, k = 1 .. q - 1 (k = q is the centre bin, done above)
    a = np.subtract(ck_r[: q - 1], u[: q - 1], out=w2[: q - 1])
    b = np.subtract(ck_i[: q - 1], v[: q - 1], out=w3[: q - 1])
    a *= a
    b *= b
    np.add(a, b, out=out[half - 1 : half - q : -1])
    if not power:
        np.sqrt(out, out=out)
    return out
