"""SoX's ``rate`` effect: multi-stage polyphase resampling with SoX's quality levels.

The stage plan (half-band decimators, a DFT up/down-sampling stage, a polyphase stage for
the remaining ratio, a second DFT stage) and every filter design follow SoX's ``rate.c``
(Kaiser-windowed sinc filters whose length and beta come from the attenuation and the
transition band). Each stage is computed over the whole signal at once instead of SoX's
streaming FIFOs: the DFT stages as overlap-save FFT blocks (power-of-two up-sampling
straight from the input block's spectrum images, as SoX does), a rational polyphase
stage as a few small matrix products over the input cut into ``step``-sample rows, an
irrational one as a gathered, interpolated polyphase sum. The output is the same linear
function of the input, and its length is ``round(n * out_rate / in_rate)`` as SoX's flush
makes it.

Minimum/intermediate phase (``-M``, ``-I``, ``-p``) are ported (cepstral phase change of
the DFT stages); the half-band decimators use SoX's own coefficients.
Differences: SoX's fixed low-quality polyphase filters (``-l``/``-m`` in some up-sampling
ratios) are replaced by designed ones.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from kaldibridge.sox._args import EffectUsageError, c_double_prefix, parse_frequency
from kaldibridge.sox._chain import Context, Effect, Stream, register

__all__ = ["Rate", "resample", "design_lpf", "kaiser_beta"]

_MULT32 = 65536.0 * 65536.0
_LOW_Q_BW0_PC = 67 + 5 / 8.0


def _to_3db(a: float) -> float:
    return (1.6e-6 * a - 7.5e-4) * a + 0.646


def _db(x: float) -> float:
    return math.log10(x) * 20


# ------------------------------------------------------------------ filter design (SoX dsp)
def bessel_i0(x: float) -> float:
    """Modified Bessel function of order 0 by its power series (as SoX sums it)."""
    term = 1.0
    total = 1.0
    x2 = x / 2
    i = 1
    while True:
        y = x2 / i
        i += 1
        last = total
        term *= y * y
        total += term
        if total == last:
            return total


_BETA_COEFS = (
    (-6.784957e-10, 1.02856e-05, 0.1087556, -0.8988365 + 0.001),
    (-6.897885e-10, 1.027433e-05, 0.10876, -0.8994658 + 0.002),
    (-1.000683e-09, 1.030092e-05, 0.1087677, -0.9007898 + 0.003),
    (-3.654474e-10, 1.040631e-05, 0.1087085, -0.8977766 + 0.006),
    (8.106988e-09, 6.983091e-06, 0.1091387, -0.9172048 + 0.015),
    (9.519571e-09, 7.272678e-06, 0.1090068, -0.9140768 + 0.025),
    (-5.626821e-09, 1.342186e-05, 0.1083999, -0.9065452 + 0.05),
    (-9.965946e-08, 5.073548e-05, 0.1040967, -0.7672778 + 0.085),
    (1.604808e-07, -5.856462e-05, 0.1185998, -1.34824 + 0.1),
    (-1.511964e-07, 6.363034e-05, 0.1064627, -0.9876665 + 0.18),
)


def kaiser_beta(att: float, tr_bw: float) -> float:
    """Kaiser window beta for stop-band attenuation ``att`` dB and transition ``tr_bw``."""
    if att >= 60:
        realm = math.log(tr_bw / 0.0005) / math.log(2.0)
        last = len(_BETA_COEFS) - 1
        c0 = _BETA_COEFS[min(max(int(realm), 0), last)]
        c1 = _BETA_COEFS[min(max(1 + int(realm), 0), last)]
        b0 = ((c0[0] * att + c0[1]) * att + c0[2]) * att + c0[3]
        b1 = ((c1[0] * att + c1[1]) * att + c1[2]) * att + c1[3]
        return b0 + (b1 - b0) * (realm - int(realm))
    if att > 50:
        return 0.1102 * (att - 8.7)
    if att > 20.96:
        return 0.58417 * (att - 20.96) ** 0.4 + 0.07886 * (att - 20.96)
    return 0.0


def make_lpf(num_taps: int, fc: float, beta: float, rho: float, scale: float) -> list[float]:
    """Kaiser-windowed sinc low-pass, ``num_taps`` long, cut-off ``fc`` (1 = Nyquist)."""
    m = num_taps - 1
    h = [0.0] * num_taps
    mult = scale / bessel_i0(beta)
    mult1 = 1 / (0.5 * m + rho)
    for i in range(m // 2 + 1):
        z = i - 0.5 * m
        x = z * math.pi
        y = z * mult1
        v = math.sin(fc * x) / x if x else fc
        v *= bessel_i0(beta * math.sqrt(max(0.0, 1 - y * y))) * mult
        h[i] = v
        h[m - i] = v
    return h


def kaiser_params(att: float, fc: float, tr_bw: float, beta: float, num_taps: int) -> tuple[float, int]:
    beta = kaiser_beta(att, tr_bw * 0.5 / fc) if beta < 0 else beta
    a = (att - 7.95) / (2.285 * math.pi * 2) if att < 60 else ((0.0007528358 - 1.577737e-05 * beta) * beta + 0.6248022) * beta + 0.06186902
    return beta, (math.ceil(a / tr_bw + 1) if not num_taps else num_taps)


def design_lpf(
    fp: float, fs: float, fn: float, att: float, num_taps: int, k: int, beta: float
) -> tuple[list[float] | None, int]:
    """SoX's ``lsx_design_lpf``: pass-band end ``fp``, stop-band start ``fs``, Nyquist
    ``fn`` (negative: only compute the length), ``k > 0`` phases or ``k < 0`` length
    modulus. Returns ``(taps or None, num_taps)``."""
    n = num_taps
    phases = max(k, 1)
    modulo = max(-k, 1)
    rho = 0.5 if phases == 1 else (0.63 if att < 120 else 0.75)
    fp /= abs(fn)
    fs /= abs(fn)
    tr_bw = 0.5 * (fs - fp)
    tr_bw /= phases
    fs /= phases
    tr_bw = min(tr_bw, 0.5 * fs)
    fc = fs - tr_bw
    beta, num_taps = kaiser_params(att, fc, tr_bw, beta, num_taps)
    if not n:
        num_taps = num_taps // phases * phases + phases - 1 if phases > 1 else (num_taps + modulo - 2) // modulo * modulo + 1
    if fn < 0:
        return None, num_taps
    return make_lpf(num_taps, fc, beta, rho, float(phases)), num_taps


def fir_to_phase(h: list[float], phase: float) -> tuple[list[float], int]:
    """SoX's ``lsx_fir_to_phase``: turn a linear-phase FIR into minimum (``phase=0``),
    intermediate or maximum (``phase=100``) phase by cepstral folding.

    Returns ``(taps, post_peak)`` where ``post_peak`` counts the taps after the peak.
    """
    import numpy as np

    length = len(h)
    phase1 = (100 - phase if phase > 50 else phase) / 50
    work_len = 32
    i = length
    while i > 1:
        work_len <<= 1
        i >>= 1
    half = work_len // 2
    spec = np.fft.rfft(np.asarray(h, dtype=np.float64), work_len)
    # SoX's real FFT has the opposite sign of the imaginary part
    angles = np.arctan2(-spec.imag, spec.real)
    pi_wraps = np.zeros(half + 1)
    prev2 = prev1 = cum2 = cum1 = 0.0
    for k in range(half + 1):
        angle = angles[k]
        delta = angle - prev2
        cum2 += 2 * math.pi * (float(delta < -2 * math.pi * 0.7) - float(delta > 2 * math.pi * 0.7))
        prev2 = angle
        angle += cum2
        delta = angle - prev1
        adjust = math.pi * (float(delta < -math.pi * 0.7) - float(delta > math.pi * 0.7))
        prev1 = angle
        cum1 += abs(adjust)
        pi_wraps[k] = cum1
    mag = np.abs(spec)
    logmag = np.where(mag > 0, np.log(np.where(mag > 0, mag, 1.0)), -26.0)
    cep = np.fft.irfft(logmag, work_len)
    cep[1:half] *= 2
    cep[half + 1 :] = 0
    c = np.fft.rfft(cep, work_len)
    re = c.real.copy()
    im = -c.imag  # SoX's sign
    k = np.arange(1, half)
    im[1:half] = phase1 * (2 * k) / work_len * pi_wraps[half] + (1 - phase1) * (im[1:half] + pi_wraps[1:half]) - pi_wraps[1:half]
    y = np.exp(re) * np.exp(-1j * im)
    y[0] = math.exp(re[0])
    y[half] = math.exp(re[half])
    work = np.fft.irfft(y, work_len)
    imp_sum = peak_sum = 0.0
    peak = 0
    for t in range(int(pi_wraps[half] / math.pi + 0.5) + 1):
        imp_sum += work[t]
        if abs(imp_sum) > abs(peak_sum):
            peak_sum = imp_sum
            peak = t
    while peak and abs(work[peak - 1]) > abs(work[peak]) and work[peak - 1] * work[peak] > 0:
        peak -= 1
    if not phase1:
        begin = 0
    elif phase1 == 1:
        begin = peak - length // 2
    else:
        b = int((0.997 - (2 - phase1) * 0.22) * length + 0.5)
        e = int((0.997 + (0 - phase1) * 0.22) * length + 0.5)
        begin = peak - (b & ~3)
        end = peak + 1 + ((e + 3) & ~3)
        length = end - begin
    out = [float(work[(begin + (length - 1 - t if phase > 50 else t) + work_len) & (work_len - 1)]) for t in range(length)]
    post = peak - begin if phase > 50 else begin + length - (peak + 1)
    return out, post


# ------------------------------------------------------------------ stage computations
def _fft_filter(x: torch.Tensor, h: torch.Tensor, big_l: int = 1, lead: int = 0, length: int | None = None) -> torch.Tensor:
    """Valid part of the convolution of ``h`` with the signal ``u``: ``w[t] = sum_i h[i]
    u[t + N - 1 - i]`` for ``t`` in ``[0, len(u) - N + 1)`` (overlap-save FFT blocks).

    ``u`` is ``xp`` zero-stuffed by ``big_l`` (``big_l - 1`` zeros after each sample; a
    power of two), where ``xp`` is ``lead`` zeros, ``x`` and trailing zeros up to
    ``length`` samples (default: no trailing zeros); padding happens once, here.

    The spectrum of a zero-stuffed block is the block's own spectrum repeated ``big_l``
    times (SoX's DFT up-sampling works on these images too), so each FFT block transforms
    only ``nfft / big_l`` input samples.
    """
    n_taps = h.numel()
    n_in = lead + x.shape[-1] if length is None else length
    total = n_in * big_l - n_taps + 1
    if total <= 0:
        return x.new_zeros(*x.shape[:-1], 0)
    nfft = 1 << max(10, (4 * n_taps - 1).bit_length(), big_l.bit_length() + 3)
    hop = (nfft - n_taps + 1) // big_l * big_l
    nblocks = -(-total // hop)
    nx = nfft // big_l
    xhop = hop // big_l
    need = (nblocks - 1) * xhop + nx
    xq = torch.nn.functional.pad(x, (lead, need - lead - x.shape[-1]))
    spec = torch.fft.rfft(xq.unfold(-1, nx, xhop), nx)  # (..., nblocks, nx/2 + 1)
    hf = torch.fft.rfft(h.to(x), nfft)
    if big_l == 1:
        prod = spec * hf
    else:
        # bins 0 .. nfft/2 of a stuffed block: big_l/2 copies of the nx-bin spectrum, then
        # its bin 0 again; multiplied by the filter piece by piece (torch.cat of the
        # conjugate view is very slow)
        upper = spec[..., 1 : nx // 2].flip(-1).conj()  # full-spectrum bins nx/2 + 1 .. nx - 1
        prod = spec.new_empty(*spec.shape[:-1], nfft // 2 + 1)
        half = nx // 2
        for c in range(0, nfft // 2, nx):
            torch.mul(spec, hf[c : c + half + 1], out=prod[..., c : c + half + 1])
            torch.mul(upper, hf[c + half + 1 : c + nx], out=prod[..., c + half + 1 : c + nx])
        torch.mul(spec[..., :1], hf[nfft // 2 :], out=prod[..., nfft // 2 :])
    out = torch.fft.irfft(prod, nfft)[..., n_taps - 1 : n_taps - 1 + hop]
    return out.reshape(*x.shape[:-1], -1)[..., :total]


@dataclass
class _DftStage:
    h: torch.Tensor
    L: int
    M: int
    post_peak: int

    def run(self, x: torch.Tensor, flush: int = 0) -> torch.Tensor:
        """Filter ``x`` followed by ``flush`` zeros."""
        preload = self.post_peak // self.L
        n_in = preload + x.shape[-1] + flush
        # SoX up-samples by a power of two in the frequency domain (spectrum images), which
        # puts the input on phase 0 whatever post_peak % L is; other factors use that phase
        if self.L == 1 or _is_pow2(self.L):
            w = _fft_filter(x, self.h, self.L, preload, n_in)
        else:
            rem_l = self.post_peak % self.L
            u = x.new_zeros(*x.shape[:-1], rem_l + n_in * self.L)
            u[..., rem_l + preload * self.L : rem_l + (preload + x.shape[-1]) * self.L : self.L] = x
            w = _fft_filter(u, self.h)
        return w[..., :: self.M]


@dataclass
class _PolyStage:
    table: torch.Tensor  # (phases, num_coefs, order + 1): coefficients a, b, c, d
    L: int
    order: int
    phase_bits: int
    rational: bool
    at0: int  # 32.32 fixed point start
    step: int  # 32.32 fixed point step
    num_coefs: int

    def run(self, x: torch.Tensor, flush: int = 0) -> torch.Tensor:
        """Resample ``x`` followed by ``flush`` zeros."""
        n = self.num_coefs
        if flush and not self.rational:
            x = torch.nn.functional.pad(x, (0, flush))
            flush = 0
        num_in = x.shape[-1] + flush + ((n - 1) >> 1) - (n - 1)
        if num_in <= 0:
            return x.new_zeros(*x.shape[:-1], 0)
        if self.rational:
            # integer clock in units of 1/L input samples
            count = max(0, -(-(num_in * self.L - (self.at0 >> 32)) // (self.step >> 32)))
            return self._run_rational(x, count)  # reads zeros past the end of x
        # irrational ratio: 32.32 fixed-point clock, taps interpolated between phases
        xp = torch.nn.functional.pad(x, ((n - 1) >> 1, 0))
        dev = x.device
        step = self.step
        count = max(0, -(-((num_in << 32) - self.at0) // step))
        pos = self.at0 + torch.arange(count, device=dev, dtype=torch.int64) * step
        q = pos >> 32
        fraction = pos & 0xFFFFFFFF
        phase = fraction >> (32 - self.phase_bits)
        frac = ((fraction << self.phase_bits) & 0xFFFFFFFF).to(torch.float64) / _MULT32
        table = self.table.to(dev)
        out = x.new_empty(*x.shape[:-1], count)
        taps = torch.arange(n, device=dev)
        chunk = max(1, (1 << 22) // max(1, n * max(1, x[..., :1].numel())))
        for s in range(0, count, chunk):
            e = min(count, s + chunk)
            idx = q[s:e, None] + taps[None, :]
            win = xp[..., idx]  # (..., chunk, n)
            coef = table[phase[s:e]]  # (chunk, n, order+1)
            if self.order == 0:
                c = coef[..., 0]
            else:
                fx = frac[s:e, None]
                c = coef[..., self.order]
                for k in range(self.order - 1, -1, -1):
                    c = c * fx + coef[..., k]
            out[..., s:e] = (win * c).sum(-1)
        return out

    def _bank(self, count: int) -> tuple[np.ndarray, int, int]:
        """The rational stage as one filter bank: ``(bank, first, rows)``.

        Output ``j*L + i`` (``i < L``) reads the left-padded input from ``q_i + j*step``
        with the taps of phase ``p_i``; column ``i`` of ``bank`` holds those taps shifted
        by ``q_i - q_0``, so every group of ``L`` outputs is one row of ``step``-sample
        input blocks times ``bank`` (``rows`` blocks deep). ``first`` is ``q_0``.
        """
        big_l = min(self.L, count)
        cached = self.__dict__.get("_bank_cache")
        if cached is not None and cached[0] == big_l:
            return cached[1]
        n = self.num_coefs
        step = self.step >> 32
        pos = [(self.at0 >> 32) + i * step for i in range(big_l)]
        q = [p // self.L for p in pos]
        shift = [qi - q[0] for qi in q]
        rows = -(-(n + max(shift)) // step)
        taps = self.table[..., 0].numpy()
        bank = np.zeros((rows * step, big_l))
        for i, p in enumerate(pos):
            bank[shift[i] : shift[i] + n, i] = taps[p % self.L]
        self.__dict__["_bank_cache"] = (big_l, (bank, q[0], rows))
        return bank, q[0], rows

    def _run_rational(self, x: torch.Tensor, count: int) -> torch.Tensor:
        """A sum of ``rows`` small matrix products over contiguous views of the input cut
        into ``step``-sample blocks. torch's matmul, not numpy's: numpy's BLAS starts its
        own threads, which spin against other work on a loaded machine."""
        bank_np, first, rows = self._bank(count)
        big_l = bank_np.shape[1]
        step = self.step >> 32
        m = -(-count // big_l)
        nblk = m + rows - 1
        need = nblk * step
        start = first - ((self.num_coefs - 1) >> 1)  # input index of block 0 (< 0: preload zeros)
        lo = max(start, 0)
        hi = min(x.shape[-1], start + need)
        n_rows = math.prod(x.shape[:-1])
        flat = x.reshape(n_rows, x.shape[-1])
        src = flat.new_zeros(n_rows, need)
        if hi > lo:
            src[:, lo - start : hi - start] = flat[:, lo:hi]
        # (L, step) @ (step, m) per block row: BLAS is much faster with the long
        # dimension last than with (m, step) @ (step, L)
        blocks_t = src.reshape(n_rows, nblk, step).transpose(1, 2)
        bank_t = torch.from_numpy(bank_np.T.copy()).to(x)
        out = bank_t[:, :step] @ blocks_t[..., :m]
        for r in range(1, rows):
            out += bank_t[:, r * step : (r + 1) * step] @ blocks_t[..., r : r + m]
        out = out.transpose(1, 2).reshape(n_rows, m * big_l)[:, :count]
        return out.reshape(*x.shape[:-1], count)


@dataclass
class _HalfStage:
    taps: torch.Tensor  # odd-tap coefficients COEFS[j] for input offsets +-(2j+1)

    def run(self, x: torch.Tensor, flush: int = 0) -> torch.Tensor:
        """Halve the rate of ``x`` followed by ``flush`` zeros."""
        n = self.taps.numel()
        occ = x.shape[-1] + flush
        num_out = (occ + 1) // 2
        full = torch.zeros(4 * n - 1, dtype=torch.float64)
        full[2 * n - 1] = 0.5
        full[0 : 2 * n - 1 : 2] = self.taps.flip(0)  # offsets -(2n - 1) .. -1
        full[2 * n :: 2] = self.taps  # offsets 1 .. 2n - 1
        # out[i] = sum_k full[k] * xp[2i + k], xp = (2n - 1) zeros, x, zeros (SoX's
        # preload and flush)
        w = _fft_filter(x, full.flip(0), 1, 2 * n - 1, 2 * n - 1 + occ + 2 * n)
        return w[..., : 2 * num_out : 2]


def _prepare_coefs(h: list[float], num_coefs: int, phases: int, order: int) -> torch.Tensor:
    """Polyphase table ``[phase, tap, k]``: value at fractional phase ``x`` is
    ``sum_k table[..., k] x**k`` (SoX's coefficient interpolation)."""
    hh = torch.tensor([0.0] + h, dtype=torch.float64)  # hh[t] = h[t-1], hh[0] = 0
    total = num_coefs * phases
    # f(i, j) = h[i*P + j - 1]; f1 is the next phase, f2 the one after, fm1 the previous
    i = torch.arange(num_coefs)[None, :]
    j = torch.arange(phases)[:, None]
    base = i * phases + j  # index into hh

    def at(off: int) -> torch.Tensor:
        k = base + off
        ok = (k >= 0) & (k < total)
        return torch.where(ok, hh[k.clamp(0, total - 1)], torch.zeros((), dtype=torch.float64))

    f0, f1, f2, fm1 = at(0), at(1), at(2), at(-1)
    if order == 0:
        coefs = [f0]
    elif order == 1:
        coefs = [f0, f1 - f0]
    elif order == 2:
        c = 0.5 * (f2 + f0) - f1
        coefs = [f0, f1 - c - f0, c]
    else:
        c = 0.5 * (f1 + fm1) - f0
        d = (1 / 6.0) * (f2 - f1 + fm1 - f0 - 4 * c)
        coefs = [f0, f1 - f0 - d - c, c, d]
    t = torch.stack(coefs, dim=-1)  # (phases, num_coefs[i], order+1)
    return t.flip(1).contiguous()  # tap m = num_coefs - 1 - i


_POLY_FIRS = (  # (beta, scalar for interp 1, order of interp 1, scalar for interp 2, order 2)
    (-1, 7.2, 1, 5.0, 2), (-1, 9.4, 1, 6.7, 2), (-1, 12.4, 1, 7.8, 2), (-1, 13.6, 1, 9.3, 2),
    (-1, 10.5, 2, 8.4, 3), (-1, 11.85, 2, 9.0, 3),
    (-1, 8.0, 1, 5.3, 2), (-1, 8.6, 1, 5.7, 2), (-1, 10.6, 1, 6.75, 2), (-1, 12.6, 1, 8.6, 2),
    (-1, 9.6, 2, 7.6, 3), (-1, 11.4, 2, 8.65, 3),
    (-1, 9.0, 1, 6.0, 2), (-1, 9.0, 1, 6.0, 2),  # SoX's fixed low-quality filters (approximated)
    (-1, 9.0, 1, 6.0, 2), (-1, 11.0, 1, 7.0, 2), (-1, 13.0, 1, 8.0, 2), (-1, 10.0, 2, 8.0, 3),
    (-1, 12.0, 2, 9.0, 3),
)
_HALF_FIRS = ((8, 136.51), (9, 152.32), (10, 168.07), (11, 183.78), (12, 199.44), (13, 212.75))


@dataclass
class RateOptions:
    """Parsed ``rate`` options (SoX's names)."""

    quality: int = -1
    phase: float = 50.0
    bw_0db_pc: float = 0.0
    bw_3db_pc: float = 0.0
    anti_aliasing_pc: float = 0.0
    allow_aliasing: bool = False
    rolloff: int = 1  # 0 none, 1 small, 2 medium
    bit_depth: float = 0.0
    rej: float = 0.0
    coef_interp: int = -1
    max_coefs_size: int = 400
    no_int_opt: bool = False
    given_0db_pt: bool = False

    def finish(self) -> None:
        if 0 <= self.quality < 2 and (
            self.bw_0db_pc or self.bw_3db_pc or self.phase != 50 or self.allow_aliasing or self.rej or self.bit_depth or self.anti_aliasing_pc
        ):
            raise EffectUsageError("rate", "override options not allowed with this quality level")
        if self.quality < 0 and self.rej == 0 and self.bit_depth == 0:
            self.quality = 4
        if self.rej:
            self.bit_depth = self.rej / _db(2.0)
        else:
            if self.quality >= 0:
                self.bit_depth = 16 + 4 * max(self.quality - 3, 0) if self.quality else 0
                if self.quality <= 2:
                    self.rolloff = 2
            self.rej = self.bit_depth * _db(2.0)
        if self.bw_3db_pc and self.bw_0db_pc:
            raise EffectUsageError("rate", "conflicting bandwidth options")
        self.allow_aliasing |= self.anti_aliasing_pc != 0
        if not self.bw_3db_pc and not self.bw_0db_pc:
            self.bw_0db_pc = _LOW_Q_BW0_PC if self.quality == 1 else 100 - 5 / _to_3db(self.rej)
        elif self.bw_3db_pc and self.bw_3db_pc < 85 and self.allow_aliasing:
            raise EffectUsageError("rate", "minimum allowed 3dB bandwidth with aliasing is 85%")
        elif self.bw_0db_pc and self.bw_0db_pc < 74 and self.allow_aliasing:
            raise EffectUsageError("rate", "minimum allowed bandwidth with aliasing is 74%")
        if self.bw_3db_pc:
            self.bw_0db_pc = 100 - (100 - self.bw_3db_pc) / _to_3db(self.rej)
        else:
            self.bw_3db_pc = 100 - (100 - self.bw_0db_pc) * _to_3db(self.rej)
            self.given_0db_pt = True
        if not self.anti_aliasing_pc:
            self.anti_aliasing_pc = self.bw_3db_pc if self.allow_aliasing else 100.0


@functools.lru_cache(maxsize=64)
def _cached_plan(factor: float, key: tuple) -> list[object]:
    """Stage plans (with their designed filters) are reused across calls."""
    o = RateOptions()
    for name, value in key:
        setattr(o, name, value)
    return _plan(factor, o)


def _plan(factor: float, o: RateOptions) -> list[object]:
    """SoX's ``rate_init``: the list of stages for ``factor = in_rate / out_rate``."""
    bits = o.bit_depth
    phase = o.phase
    bw_pc = o.bw_0db_pc
    rolloff = o.rolloff
    interpolator = o.coef_interp
    att = (bits + 1) * _db(2.0)
    att_arb = att
    tbw0 = 1 - bw_pc / 100
    fs_a = 2 - o.anti_aliasing_pc / 100
    arb_m = factor
    tbw_tighten = 1.0
    n = 0
    pre_l = pre_m = 1
    shift = 0
    arb_l = 1
    post_l = post_m = 1
    upsample = rational = False
    i_opt = not o.no_int_opt
    mode = int(factor > 1 or bw_pc > _LOW_Q_BW0_PC) if rolloff > 1 else math.ceil(2 + (bits - 17) / 4)
    if not bits:
        return [("cubic", factor)]
    while True:
        n += 1
        max_l = 1 if interpolator > 0 else (2048 if mode else math.ceil(o.max_coefs_size * 1000.0 / (42 * 8)))
        epsilon = 0.0
        upsample = arb_m < 1
        i = int(arb_m * 0.5)
        shift = 0
        while True:
            i >>= 1
            if not i:
                break
            arb_m *= 0.5
            shift += 1
        pre_m = int(upsample or (1.5 < arb_m < 2))
        post_m = 1 + int(arb_m > 1 and bool(pre_m))
        arb_m /= post_m
        pre_l = 1 + int(not pre_m and arb_m < 2) + int(upsample and bool(mode))
        arb_m *= pre_l
        frac = arb_m - int(arb_m)
        if frac:
            epsilon = abs(int(frac * _MULT32 + 0.5) / (frac * _MULT32) - 1)
        rational = not frac
        ii = 1
        while ii <= max_l and not rational:
            d = frac * ii
            try_ = int(d + 0.5)
            rational = abs(try_ / d - 1) <= epsilon
            if rational:
                if try_ == ii:
                    arb_m = math.ceil(arb_m)
                    shift += int(arb_m > 2)
                    arb_m /= 1 + int(arb_m > 2)
                else:
                    arb_m = ii * int(arb_m) + try_
                    arb_l = ii
            ii += 1
        big_l = pre_l * arb_l
        big_m = int(arb_m * post_m)
        x = (big_l | big_m) & 1
        if not x:
            big_l >>= 1
            big_m >>= 1
        restart = False
        d = pre_l * arb_l / arb_m
        if i_opt and post_l == 1 and d > 4 and d != 5:
            post_l = 4
            k = int(d / 16)
            while True:
                k >>= 1
                if not k:
                    break
                post_l <<= 1
            arb_m = arb_m * post_l / arb_l / pre_l
            arb_l = 1
            restart = True
        elif rational and (max(big_l, big_m) < 3 + 2 * i_opt or big_l * big_m < 6 * i_opt):
            pre_l, pre_m = big_l, big_m
            arb_m = arb_l = post_m = 1
        if not mode and (not rational or restart or n == 0):
            mode += 1
            restart = True
        if not restart:
            break
        n = 0
    have_pre = pre_m * pre_l != 1
    have_arb = arb_m * arb_l != 1
    have_post = post_m * post_l != 1
    num_stages = shift + have_pre + have_arb + have_post
    if not num_stages:
        return []
    if num_stages > 1:
        cnt = num_stages
        if have_arb:
            att += _db(2.0)
            att_arb = att
            cnt -= 1
        att += _db(float(cnt))
    stages: list[object] = []
    hn = 0
    while hn + 1 < len(_HALF_FIRS) and att > _HALF_FIRS[hn][1]:
        hn += 1
    for _ in range(shift):
        stages.append(_half_stage(_HALF_FIRS[hn][0], _HALF_FIRS[hn][1]))
    if have_pre:
        if not o.given_0db_pt and have_post:
            tbw3 = tbw0 * _to_3db(att)
            xx = ((2.1429e-4 - 5.2083e-7 * att) * att - 0.015863) * att + 3.95
            xx = att * ((tbw0 - tbw3) / (post_m / (factor * post_l) - 1 + tbw0)) ** xx
            if xx > 0.035:
                tbw_tighten = ((4.3074e-3 - 3.9121e-4 * xx) * xx - 0.040009) * xx + 1.0014
        fn = float(max(pre_l, pre_m)) if pre_m else arb_m / arb_l
        stages.append(_dft_stage(1 - tbw0 * tbw_tighten, fs_a, fn, att, phase, pre_l, max(pre_m, 1)))
    if have_arb:
        stages.append(_poly_stage(upsample, pre_m, mode, arb_m, arb_l, rational, tbw0, rolloff, bits, att_arb, interpolator, o.max_coefs_size))
    if have_post:
        fp = 1 - (1 - (1 - tbw0) * (factor * post_l / post_m if upsample else 1)) * tbw_tighten
        stages.append(_dft_stage(fp, fs_a, float(max(post_l, post_m)), att, phase, post_l, post_m))
    return stages


def _is_pow2(v: int) -> bool:
    return v > 0 and (v & (v - 1)) == 0


def _dft_stage(fp: float, fs: float, fn: float, att: float, phase: float, big_l: int, big_m: int) -> _DftStage:
    k = big_l << 1 if (phase == 50 and _is_pow2(big_l) and fn == big_l) else 4
    h, num_taps = design_lpf(fp, fs, fn, att, 0, -k, -1.0)
    assert h is not None
    post_peak = num_taps // 2
    if phase != 50:
        h, post_peak = fir_to_phase(h, phase)
    taps = torch.tensor(h, dtype=torch.float64) * big_l
    return _DftStage(taps, big_l, big_m, post_peak)


# SoX's half-band decimation filters (odd-tap coefficients, centre tap 0.5), by length.
_HALF_COEFS = {
    8: (0.3115465451887802, -0.08734497241282892, 0.03681452335604365, -0.01518925831569441,
        0.005454118437408876, -0.001564400922162005, 0.0003181701445034203, -3.48001341225749e-5),
    9: (0.3122703613711853, -0.08922155288172305, 0.03913974805854332, -0.01725059723447163,
        0.006858970092378141, -0.002304518467568703, 0.0006096426006051062, -0.0001132393923815236,
        1.119795386287666e-5),
    10: (0.3128545521327376, -0.09075671986104322, 0.04109637155154835, -0.01906629512749895,
         0.008184039342054333, -0.0030766775017262, 0.0009639607022414314, -0.0002358552746579827,
         4.025184282444155e-5, -3.629779111541012e-6),
    11: (0.3133358837508807, -0.09203588680609488, 0.04276515428384758, -0.02067356614745591,
         0.00942253142371517, -0.003856330993895144, 0.001363470684892284, -0.0003987400965541919,
         9.058629923971627e-5, -1.428553070915318e-5, 1.183455238783835e-6),
    12: (0.3137392991811407, -0.0931182192961332, 0.0442050575271454, -0.02210391200618091,
         0.01057473015666001, -0.00462766983973885, 0.001793630226239453, -0.0005961819959665878,
         0.0001631475979359577, -3.45557865639653e-5, 5.06188341942088e-6, -3.877010943315563e-7),
    13: (0.3140822554324578, -0.0940458550886253, 0.04545990399121566, -0.02338339450796002,
         0.01164429409071052, -0.005380686021429845, 0.002242915773871009, -0.000822047600000082,
         0.0002572510962395222, -6.607320708956279e-5, 1.309926399120154e-5, -1.790719575255006e-6,
         1.27504961098836e-7),
}


def _half_stage(num_coefs: int, att: float) -> _HalfStage:
    return _HalfStage(torch.tensor(_HALF_COEFS[num_coefs], dtype=torch.float64))


def _poly_stage(
    upsample: bool, pre_m: int, mode: int, arb_m: float, arb_l: int, rational: bool, tbw0: float,
    rolloff: int, bits: float, att_arb: float, interpolator: int, max_coefs_size: int,
) -> _PolyStage:
    row = _POLY_FIRS[6 * (int(upsample) + int(bool(pre_m))) + mode - int(not upsample)]
    beta = float(row[0])
    x = 0.5
    mult = 1.0 if upsample else arb_l / arb_m
    if not upsample and pre_m:
        x = arb_m / arb_l
        fn = x
    else:
        fn = 1.0
    fp = mult if not pre_m else (0.5 if mode else 1.0)
    fs = 2 - fp
    fp *= 1 - tbw0
    if rolloff > 1 and mode:
        fp = mult * 0.5 - 0.125 if not pre_m else mult * 0.05 + 0.1
    elif rolloff == 1:
        fp = fs - (fs - 0.148 * x - fp * 0.852) * (0.00813 * bits + 0.973)
    i = (int(not rational) if interpolator < 0 else max(interpolator, int(not rational))) - 1
    scalars = (0.0, row[1], row[3])
    orders_tab = (0, row[2], row[4])
    while True:
        i += 1
        if i:
            arb_m /= arb_l
            arb_l = 1
            rational = False
        phase_bits = math.ceil(scalars[i] + math.log(mult) / math.log(2.0))
        phases = arb_l if rational else (1 << phase_bits)
        phases0 = max(phases, 19)
        _, n0 = design_lpf(fp, fs, -fn, att_arb, 0, phases0, beta)
        num_coefs = n0 // phases0 + 1
        num_coefs += num_coefs & int(not pre_m)
        if (num_coefs & 1) and rational and (arb_l & 1):
            phases <<= 1
            arb_l <<= 1
            arb_m *= 2
        at = arb_l * 0.5 * (num_coefs & 1)
        order = orders_tab[i] if i else 0
        coefs_size = num_coefs * phases * (order + 1) * 8
        if not (interpolator < 0 and i < 2 and coefs_size / 1000 > max_coefs_size):
            break
    h, _ = design_lpf(fp, fs, fn, att_arb, num_coefs * phases - 1, phases, beta)
    assert h is not None
    table = _prepare_coefs(h, num_coefs, phases, order)
    return _PolyStage(
        table=table, L=arb_l, order=order, phase_bits=phase_bits, rational=rational,
        at0=int(at * _MULT32 + 0.5), step=int(arb_m * _MULT32 + 0.5), num_coefs=num_coefs,
    )


def _cubic(x: torch.Tensor, factor: float) -> torch.Tensor:
    """SoX's ``-q`` quality: cubic interpolation, 32.32 fixed-point clock."""
    step = int(factor * _MULT32 + 0.5)
    xp = torch.nn.functional.pad(x, (1, 3))  # preload 1 zero; flush zeros
    num_in = xp.shape[-1] - 3 - 1
    count = max(0, -(-((num_in << 32)) // step))
    pos = torch.arange(count, dtype=torch.int64, device=x.device) * step
    q = (pos >> 32) + 1
    fx = (pos & 0xFFFFFFFF).to(torch.float64) / _MULT32
    s0, s1, sm, s2 = xp[..., q], xp[..., q + 1], xp[..., q - 1], xp[..., q + 2]
    b = 0.5 * (s1 + sm) - s0
    a = (1 / 6.0) * (s2 - s1 + sm - s0 - 4 * b)
    c = s1 - s0 - a - b
    return ((a * fx + b) * fx + c) * fx + s0


def resample(x: torch.Tensor, in_rate: float, out_rate: float, options: RateOptions | None = None) -> torch.Tensor:
    """Resample ``(..., time)`` float64 from ``in_rate`` to ``out_rate`` as SoX's ``rate``.

    Returns:
        ``(..., round(time * out_rate / in_rate))`` float64.
    """
    o = options or RateOptions()
    if o.bit_depth == 0 and o.quality < 0:
        o.finish()
    factor = in_rate / out_rate
    n_in = x.shape[-1]
    n_out = int(n_in / factor + 0.5)
    stages = _cached_plan(factor, tuple(vars(o).items()))
    if not stages:
        return x
    y = x
    for st in stages:
        if isinstance(st, tuple):
            y = _cubic(y, st[1])
        else:
            # flush: each stage sees enough trailing zeros to emit its whole response
            y = st.run(y, _stage_tail(st))  # type: ignore[attr-defined]
    if y.shape[-1] < n_out:
        y = torch.nn.functional.pad(y, (0, n_out - y.shape[-1]))
    return y[..., :n_out]


def _stage_tail(st: object) -> int:
    if isinstance(st, _DftStage):
        return st.h.numel() // max(1, st.L) + 2
    if isinstance(st, _PolyStage):
        return st.num_coefs + 2
    if isinstance(st, _HalfStage):
        return 4 * st.taps.numel() + 2
    return 4


_OPTS_WITH_ARG = set("icbBApQRd")
_QUALITY = "qlmghevu"


@register("rate")
class Rate(Effect):
    usage_text = "[-q|-l|-m|-h|-v] [override-options] RATE[k]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        o = RateOptions()
        rest = list(args)
        while rest and rest[0].startswith("-") and len(rest[0]) > 1 and rest[0] != "--":
            tok = rest.pop(0)
            k = 1
            while k < len(tok):
                ch = tok[k]
                k += 1
                if ch in _OPTS_WITH_ARG:
                    val_txt = tok[k:] if k < len(tok) else (rest.pop(0) if rest else None)
                    k = len(tok)
                    if val_txt is None:
                        raise self.usage(tok)
                    got = c_double_prefix(val_txt)
                    if got is None or got[1]:
                        raise self.usage(val_txt)
                    v = got[0]
                    ranges = {"i": (-1, 2), "c": (100, 2**31 - 1), "p": (0, 100), "B": (53, 99.5), "A": (85, 100),
                              "d": (15, 33), "b": (74, 99.7), "R": (90, 200), "Q": (0, 7)}
                    lo, hi = ranges[ch]
                    if not lo <= v <= hi:
                        raise EffectUsageError(self.name, f"parameter -{ch} must be between {lo:g} and {hi:g} (got {val_txt!r})")
                    if ch == "i":
                        o.coef_interp = int(v)
                    elif ch == "c":
                        o.max_coefs_size = int(v)
                    elif ch == "p":
                        o.phase = v
                    elif ch == "B":
                        o.bw_0db_pc = v
                    elif ch == "A":
                        o.anti_aliasing_pc = v
                    elif ch == "d":
                        o.bit_depth = v
                    elif ch == "b":
                        o.bw_3db_pc = v
                    elif ch == "R":
                        o.rej = v
                    elif ch == "Q":
                        o.quality = int(v)
                elif ch == "M":
                    o.phase = 0
                elif ch == "I":
                    o.phase = 25
                elif ch == "L":
                    o.phase = 50
                elif ch == "a":
                    o.allow_aliasing = True
                elif ch == "f":
                    o.rolloff = 0
                elif ch == "n":
                    o.no_int_opt = True
                elif ch == "s":
                    o.bw_3db_pc = 99
                elif ch in "ot":
                    pass
                elif ch in _QUALITY:
                    o.quality = _QUALITY.index(ch)
                else:
                    raise EffectUsageError(self.name, f"unknown option `-{ch}'")
        if rest and rest[0] == "--":
            rest.pop(0)
        o.finish()
        self.options = o
        self.out_rate: float | None = None
        if rest:
            f, tail = parse_frequency(rest[0])
            if f <= 0 or tail:
                raise self.usage(rest[0])
            self.out_rate = f
            self.declared_rate = f
            rest.pop(0)
        if rest:
            raise self.usage(rest[0])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        out_rate = self.out_rate if self.out_rate is not None else ctx.out_rate
        if st.rate == out_rate:
            return st
        y = resample(st.x, st.rate, out_rate, self.options)
        if y is st.x:
            ctx.warn(self.name, "input and output rates too close, skipping resampling")
            return st
        return Stream(y, out_rate, int(y.shape[1] * y.shape[2]))
