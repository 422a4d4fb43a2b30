"""Kaldi pitch: raw (NCCF, pitch) extraction and its post-processing.

The extractor follows Ghahremani et al. (ICASSP 2014) as Kaldi implements it:

1. the int16-scale waveform is low-passed and resampled to ``resample_frequency``
   (:func:`kaldibridge.functional.resample.linear_resample`);
2. for every frame, the normalized cross-correlation (NCCF) between the first
   ``frame_length`` of the window and the window shifted by each integer lag is computed
   twice: with a "ballast" term proportional to the squared signal power in the
   denominator (used for the pitch search) and without it (reported as the NCCF);
3. both are resampled from the integer lags onto a log-spaced lag grid (ratio
   ``1 + delta_pitch``);
4. a Viterbi search over the lag grid picks the pitch track; the transition cost is
   ``penalty_factor * (log(1 + delta_pitch) * (j - i))**2``.

All frames of a chunk are handled at once (NCCF by FFT in float64, the lag-grid
interpolation as one matrix product; the NCCF without ballast is interpolated only at the
states the traceback picks). The Viterbi recursion is sequential over frames: with numba
installed it runs as an exact ``O(lags)``-per-frame compiled search, otherwise as one
dense vectorized ``argmin`` per frame; both give identical backpointers
(:mod:`kaldibridge.kaldi.features.pitch_viterbi`).
The online behaviour of Kaldi (``--frames-per-chunk``, ``--simulate-first-pass-online``,
``--recompute-frame``, ``--max-frames-latency``, ``--nccf-ballast-online``) is reproduced:
the energy used for the ballast term is the one known when each chunk arrives, the first
``recompute_frame`` frames are re-searched once the energy estimate is revised, and the
first-pass output reads the traceback as it stood after each chunk.

Post-processing (:func:`process_kaldi_pitch`) turns (NCCF, pitch) into the ASR features:
the POV feature ``(1.0001 - nccf)**0.15 - 1``, the log-pitch minus its POV-weighted mean
over a sliding window, the delta of the log-pitch with glibc-``rand()`` noise exactly as
Kaldi draws it, and optionally the raw log-pitch.

Kaldi: ``src/feat/pitch-functions.cc`` (``OnlinePitchFeature``, ``OnlineProcessPitch``,
``ComputeKaldiPitch``, ``ProcessPitch``, ``ComputeAndProcessKaldiPitch``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import torch

from kaldibridge.errors import OptionError
from kaldibridge.functional.resample import (
    arbitrary_resample_matrix,
    linear_resample,
    linear_resample_num_output,
)
from kaldibridge.kaldi.features.pitch_rand import GlibcRandom
from kaldibridge.kaldi.features.pitch_viterbi import traceback, viterbi_frames
from kaldibridge.kaldi.options import OptionGroup, option

__all__ = [
    "PitchExtractionOptions",
    "ProcessPitchOptions",
    "compute_kaldi_pitch",
    "process_kaldi_pitch",
    "compute_and_process_kaldi_pitch",
    "KaldiPitch",
    "ProcessKaldiPitch",
    "GlibcRandom",
]

_log = logging.getLogger("kaldibridge.kaldi.features.pitch")
_F32 = np.float32
_BLOCK = 2048  # frames per block of NCCF work


# =========================================================================== options


@dataclass(frozen=True)
class PitchExtractionOptions(OptionGroup):
    """Options of the raw pitch extractor (``compute-kaldi-pitch-feats``).

    Kaldi: ``PitchExtractionOptions``.
    """

    sample_frequency: float = option(16000.0, "Sample rate of the input waveform in Hz.", cpp="samp_freq")
    frame_length: float = option(25.0, "Analysis window length in milliseconds.", cpp="frame_length_ms")
    frame_shift: float = option(10.0, "Frame step in milliseconds.", cpp="frame_shift_ms")
    preemphasis_coefficient: float = option(
        0.0, "Pre-emphasis applied to each window before correlation (deprecated).", cpp="preemph_coeff"
    )
    min_f0: float = option(50.0, "Lowest pitch searched, in Hz.")
    max_f0: float = option(400.0, "Highest pitch searched, in Hz.")
    soft_min_f0: float = option(10.0, "Soft lower bound on pitch (Hz): long lags are penalized with this weight.")
    penalty_factor: float = option(0.1, "Weight of the pitch-change cost between frames.")
    lowpass_cutoff: float = option(1000.0, "Cutoff of the low-pass filter applied before resampling (Hz).")
    resample_frequency: float = option(
        4000.0, "Rate the signal is resampled to before correlation; above twice the cutoff.", cpp="resample_freq"
    )
    delta_pitch: float = option(0.005, "Relative spacing of the log-spaced lag grid.")
    nccf_ballast: float = option(7000.0, "Scale of the energy term that damps the NCCF of quiet frames.")
    nccf_ballast_online: bool = option(
        False, "Debug: compute the ballast energy only up to the current frame."
    )
    lowpass_filter_width: int = option(1, "Half-width (zero crossings) of the low-pass resampling filter.")
    upsample_filter_width: int = option(5, "Half-width (zero crossings) of the filter that interpolates the NCCF.")
    max_frames_latency: int = option(
        0, "Most frames the first-pass traceback may lag behind (with chunked first-pass output)."
    )
    frames_per_chunk: int = option(0, "Feed the waveform in chunks of this many frames, as online decoding does.")
    simulate_first_pass_online: bool = option(
        False, "Output what an online decoder sees on its first pass (needs --frames-per-chunk)."
    )
    recompute_frame: int = option(
        500, "Frame at which early frames are re-searched with a revised energy estimate (online mode)."
    )
    snip_edges: bool = option(
        True, "If false, frames are centred on multiples of the shift and the count is length / shift."
    )

    def validate(self) -> None:
        if not (self.sample_frequency > 0 and self.resample_frequency > 0):
            raise OptionError("pitch: --sample-frequency and --resample-frequency must be positive")
        if not (0 < self.min_f0 < self.max_f0):
            raise OptionError(f"pitch: need 0 < --min-f0 < --max-f0, got {self.min_f0} and {self.max_f0}")
        if self.frame_shift <= 0 or self.frame_length <= 0:
            raise OptionError("pitch: --frame-shift and --frame-length must be positive")
        if self.delta_pitch <= 0:
            raise OptionError(f"pitch: --delta-pitch must be positive, got {self.delta_pitch}")
        if self.lowpass_filter_width <= 0 or self.upsample_filter_width <= 0:
            raise OptionError("pitch: filter widths must be positive")
        if self.frames_per_chunk < 0:
            raise OptionError(f"pitch: --frames-per-chunk must be >= 0, got {self.frames_per_chunk}")

    # Kaldi's NccfWindowSize / NccfWindowShift (single-precision product, then /1000 in double).
    @property
    def nccf_window_size(self) -> int:
        return int(float(_F32(self.resample_frequency) * _F32(self.frame_length)) / 1000.0)

    @property
    def nccf_window_shift(self) -> int:
        return int(float(_F32(self.resample_frequency) * _F32(self.frame_shift)) / 1000.0)


@dataclass(frozen=True)
class ProcessPitchOptions(OptionGroup):
    """Options of pitch post-processing (``process-kaldi-pitch-feats``).

    Kaldi: ``ProcessPitchOptions`` (``--srand`` is a tool flag, see the CLI).
    """

    pitch_scale: float = option(2.0, "Scale of the mean-normalized log-pitch feature.")
    pov_scale: float = option(2.0, "Scale of the probability-of-voicing feature.")
    pov_offset: float = option(0.0, "Offset added to the scaled POV feature (a stand-in for CMN online).")
    delta_pitch_scale: float = option(10.0, "Scale of the delta log-pitch feature.")
    delta_pitch_noise_stddev: float = option(
        0.005, "Standard deviation of the Gaussian noise added to delta log-pitch before scaling."
    )
    normalization_left_context: int = option(75, "Frames of left context of the log-pitch mean window.")
    normalization_right_context: int = option(75, "Frames of right context of the log-pitch mean window.")
    delta_window: int = option(2, "Frames on each side used by the delta computation.")
    delay: int = option(0, "Delay the output by this many frames (the first frame is repeated).")
    add_pov_feature: bool = option(True, "Output the POV feature (warped NCCF).")
    add_normalized_log_pitch: bool = option(True, "Output log-pitch minus its POV-weighted local mean.")
    add_delta_pitch: bool = option(True, "Output the delta of the log-pitch.")
    add_raw_log_pitch: bool = option(False, "Output the raw log-pitch.")

    def validate(self) -> None:
        if not (self.add_pov_feature or self.add_normalized_log_pitch or self.add_delta_pitch or self.add_raw_log_pitch):
            raise OptionError("process pitch: at least one of the --add-* features must be selected")
        if self.delta_window <= 0:
            raise OptionError(f"process pitch: --delta-window must be positive, got {self.delta_window}")
        if self.delay < 0 or self.normalization_left_context < 0 or self.normalization_right_context < 0:
            raise OptionError("process pitch: --delay and the normalization contexts must be >= 0")

    @property
    def dim(self) -> int:
        return int(self.add_pov_feature) + int(self.add_normalized_log_pitch) + int(self.add_delta_pitch) + int(
            self.add_raw_log_pitch
        )


def _resolve(cls: type, opts: Any, overrides: dict[str, Any]) -> Any:
    if opts is None:
        opts = cls()
    elif not isinstance(opts, cls):
        raise OptionError(f"expected {cls.__name__}, got {type(opts).__name__}")
    return opts.replace(**overrides) if overrides else opts


# =========================================================================== setup


@dataclass(frozen=True)
class _Setup:
    """Quantities derived once from the options (Kaldi's constructor work)."""

    fs: int
    rs: int
    shift: int
    basic: int
    first_lag: int
    last_lag: int
    lags: np.ndarray  # (L,) float32 log-spaced lags in seconds
    inv_lags: np.ndarray  # (L,) float32 pitch in Hz of each state
    #: (num_measured_lags, L) NCCF interpolation weights, rounded to float32 as the
    #: reference computes them and stored in float64 for the float64 products
    weights: np.ndarray
    trans: np.ndarray  # (L, L) float32 transition costs (j - i)^2 * factor, row i, column j
    soft_lags: np.ndarray  # (L,) float32 soft_min_f0 * lags
    fft_size: int
    row_base: np.ndarray  # (L,) offsets of the rows of trans, flattened

    @property
    def full(self) -> int:
        return self.basic + self.last_lag

    @property
    def num_lags(self) -> int:
        return int(self.lags.shape[0])


def _select_lags(min_f0: float, max_f0: float, delta_pitch: float) -> np.ndarray:
    min_lag = _F32(1.0 / float(_F32(max_f0)))
    max_lag = _F32(1.0 / float(_F32(min_f0)))
    step = 1.0 + float(_F32(delta_pitch))
    out = []
    lag = min_lag
    while lag <= max_lag:
        out.append(lag)
        lag = _F32(float(lag) * step)
    return np.asarray(out, dtype=np.float32)


def _fft_friendly(n: int) -> int:
    """Smallest ``2**a * 3**b >= n`` (sizes the FFT handles fastest)."""
    best = 1 << max(1, (n - 1).bit_length())
    p3 = 1
    while p3 < best:
        p2 = p3
        while p2 < n:
            p2 *= 2
        best = min(best, p2)
        p3 *= 3
    return best


@lru_cache(maxsize=16)
def _make_setup(opts: PitchExtractionOptions) -> _Setup:
    fs_f, rs_f = float(_F32(opts.sample_frequency)), float(_F32(opts.resample_frequency))
    # The signal resampler takes whole-Hz rates (the reference truncates to int32);
    # everything else uses the rates as given.
    fs_i, rs_i = int(fs_f), int(rs_f)
    cutoff = float(_F32(opts.lowpass_cutoff))
    if fs_i <= 0 or rs_i <= 0 or not (cutoff > 0 and 2 * cutoff <= fs_i and 2 * cutoff <= rs_i):
        raise OptionError(
            f"pitch: --lowpass-cutoff={cutoff} must be positive and at most half of the sample frequency "
            f"{fs_f} and of the resample frequency {rs_f}"
        )
    uw = int(opts.upsample_filter_width)
    outer_min_lag = 1.0 / float(_F32(opts.max_f0)) - uw / (2.0 * rs_f)
    outer_max_lag = 1.0 / float(_F32(opts.min_f0)) + uw / (2.0 * rs_f)
    first_lag = int(math.ceil(rs_f * outer_min_lag))
    last_lag = int(math.floor(rs_f * outer_max_lag))
    if first_lag < 0:
        raise OptionError("pitch: --max-f0 is too high for the resample frequency and upsample filter width")
    lags = _select_lags(opts.min_f0, opts.max_f0, opts.delta_pitch)
    if lags.size == 0:
        raise OptionError("pitch: empty lag grid; check --min-f0, --max-f0 and --delta-pitch")
    offset = _F32(_F32(-first_lag) / _F32(rs_f))
    lags_offset = (lags + offset).astype(np.float32)
    num_measured = last_lag + 1 - first_lag
    weights = arbitrary_resample_matrix(num_measured, rs_f, float(_F32(rs_f * 0.5)), lags_offset, uw).astype(
        np.float64
    )
    delta_pitch_sq = _F32(math.log(1.0 + float(_F32(opts.delta_pitch))) ** 2)
    factor = _F32(delta_pitch_sq * _F32(opts.penalty_factor))
    idx = np.arange(lags.size, dtype=np.int64)
    d2 = ((idx[None, :] - idx[:, None]) ** 2).astype(np.float32)
    trans = (d2 * factor).astype(np.float32)
    soft = (_F32(opts.soft_min_f0) * lags).astype(np.float32)
    inv = (1.0 / lags.astype(np.float64)).astype(np.float32)
    basic = opts.nccf_window_size
    full = basic + last_lag
    # circular correlation of size >= full needs no wrap-around guard: the first
    # ``basic`` samples shifted by at most ``last_lag`` stay inside ``full``
    fft_size = _fft_friendly(full)
    row_base = np.arange(lags.size, dtype=np.int64) * lags.size
    for a in (lags, inv, weights, trans, soft, row_base):
        a.setflags(write=False)
    return _Setup(
        fs=fs_i,
        rs=rs_i,
        shift=opts.nccf_window_shift,
        basic=basic,
        first_lag=first_lag,
        last_lag=last_lag,
        lags=lags,
        inv_lags=inv,
        weights=weights,
        trans=trans,
        soft_lags=soft,
        fft_size=fft_size,
        row_base=row_base,
    )


# =========================================================================== NCCF


def _nccf_terms(windows: np.ndarray, su: _Setup) -> tuple[np.ndarray, np.ndarray]:
    """Inner products and energy products for every frame and integer lag.

    Args:
        windows: ``(frames, full)`` float64 windows (already pre-emphasized if requested).

    Returns:
        ``(inner, norm)``, each ``(frames, num_measured_lags)`` float64: the dot product of
        the first ``basic`` samples with the window shifted by each lag, and ``e1 * e2``.
    """
    basic, first, last = su.basic, su.first_lag, su.last_lag
    zm = windows - windows[:, :basic].mean(axis=1, keepdims=True)
    v1 = zm[:, :basic]
    n = su.fft_size
    corr = np.fft.irfft(np.fft.rfft(zm, n) * np.conj(np.fft.rfft(v1, n)), n)
    inner = corr[:, first : last + 1]
    sq = np.empty((zm.shape[0], zm.shape[1] + 1))
    sq[:, 0] = 0.0
    np.cumsum(np.square(zm, out=zm), axis=1, out=sq[:, 1:])
    e1 = sq[:, basic]
    e2 = sq[:, first + basic : last + basic + 1] - sq[:, first : last + 1]
    e2 *= e1[:, None]
    return inner, e2


def _nccf(inner: np.ndarray, norm: np.ndarray, ballast: np.ndarray | float) -> np.ndarray:
    """``inner / sqrt(norm + ballast)``, 0 where the denominator is 0 (float64)."""
    den = np.sqrt(norm + ballast) if not (np.isscalar(ballast) and ballast == 0.0) else np.sqrt(norm)
    out = np.zeros_like(inner)
    np.divide(inner, den, out=out, where=den != 0.0)
    return out


# =========================================================================== tracker


class _PitchTracker:
    """Kaldi's ``OnlinePitchFeatureImpl`` state machine, vectorized per chunk."""

    def __init__(self, opts: PitchExtractionOptions, su: _Setup, source: np.ndarray | None = None) -> None:
        self.opts = opts
        self.su = su
        # ``source``: the whole downsampled signal, when known in advance; the chunks
        # passed to accept() are then consecutive slices of it (no copying).
        self.source = source
        self.ds = np.zeros(0, dtype=np.float32)  # downsampled signal received so far
        self.n_proc = 0
        self.sig_sum = 0.0
        self.sig_sumsq = 0.0
        self.finished = False
        # Per-frame state, in arrays grown geometrically; rows [0, nf) are valid.
        self.nf = 0
        self.n_traced = 0  # frames covered by the last traceback
        self.backptr = np.zeros((0, su.num_lags), dtype=np.int16 if su.num_lags <= 32767 else np.int32)
        self.nccf_pov = np.zeros((0, su.weights.shape[0]), dtype=np.float64)  # NCCF without ballast
        self.cur_best = np.zeros(0, dtype=np.int32)
        self.lag_idx = np.zeros(0, dtype=np.int32)
        self.lag_nccf = np.zeros(0, dtype=np.float32)
        self.forward = np.zeros(su.num_lags, dtype=np.float32)
        self.forward_remainder = 0.0
        self.latency = 0
        # per frame < recompute_frame: (avg_norm_prod, mean_square, nccf_pitch_resampled)
        self.info_avg: list[np.float32] = []
        self.info_ms: list[np.float32] = []
        self.info_nccf: list[np.ndarray] = []

    # -- counts ---------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return self.nf

    def _reserve(self, n: int) -> None:
        """Make room for ``n`` frames in the per-frame arrays."""
        cap = self.backptr.shape[0]
        if n <= cap:
            return
        cap = max(n, 2 * cap, 64)
        for name in ("backptr", "nccf_pov", "cur_best", "lag_idx", "lag_nccf"):
            old = getattr(self, name)
            new = np.empty((cap,) + old.shape[1:], dtype=old.dtype)  # rows are written before use
            new[: self.nf] = old[: self.nf]
            setattr(self, name, new)

    def frames_available(self, num_samples: int) -> int:
        su = self.su
        length = su.basic if self.finished else su.basic + su.last_lag
        if num_samples < length:
            return 0
        if not self.opts.snip_edges:
            if self.finished:
                return int(_F32(_F32(num_samples) * _F32(1.0) / _F32(su.shift)) + _F32(0.5))
            return int(_F32(_F32(num_samples - length // 2) * _F32(1.0) / _F32(su.shift)) + _F32(0.5))
        return (num_samples - length) // su.shift + 1

    def frames_ready(self) -> int:
        return self.n_traced - self.latency

    # -- main entry -----------------------------------------------------------------
    def accept(self, new_ds: np.ndarray) -> None:
        """Process newly available downsampled samples (Kaldi's ``AcceptWaveform``)."""
        su, opts = self.su, self.opts
        new_ds = np.asarray(new_ds, dtype=np.float32)
        P = self.n_proc
        total = P + new_ds.shape[0]
        if self.source is None:
            self.ds = np.concatenate([self.ds, new_ds]) if new_ds.size else self.ds
        new64 = new_ds.astype(np.float64)
        new_sumsq = float(np.dot(new64, new64))
        new_sum = float(new64.sum())
        end_frame = self.frames_available(total)
        start_frame = self.num_frames
        if end_frame <= start_frame:
            self._update_remainder(new_sum, new_sumsq, total)
            return
        frames = np.arange(start_frame, end_frame, dtype=np.int64)
        full = su.full
        if opts.snip_edges:
            starts = frames * su.shift
        else:
            starts = ((frames + 0.5) * su.shift).astype(np.int64) - full // 2
        if opts.nccf_ballast_online:
            # (the reference asserts end > 0; it can only fail for tiny inputs without
            # snipping, where we count no new samples instead)
            ends = np.clip(starts + full - P, 0, new_ds.shape[0])
            c1 = np.concatenate([[0.0], np.cumsum(new64)])
            c2 = np.concatenate([[0.0], np.cumsum(new64 * new64)])
            num = P + ends
            s1 = self.sig_sum + c1[ends]
            s2 = self.sig_sumsq + c2[ends]
            mean_square = s2 / num - (s1 / num) ** 2
        else:
            num = float(total)
            s1 = self.sig_sum + new_sum
            s2 = self.sig_sumsq + new_sumsq
            mean_square = np.full(frames.shape, s2 / num - (s1 / num) ** 2)
        self._update_remainder(new_sum, new_sumsq, total)
        # Blocks of frames bound the memory of the (frames x lags) intermediates.
        for b0 in range(0, frames.shape[0], _BLOCK):
            sl = slice(b0, b0 + _BLOCK)
            self._frames_block(frames[sl], self._extract(starts[sl], total), mean_square[sl])
        self._traceback()

    def _frames_block(self, frames: np.ndarray, windows: np.ndarray, mean_square: np.ndarray) -> None:
        """NCCF, lag-grid resampling and Viterbi steps for consecutive new frames."""
        su, opts = self.su, self.opts
        inner, norm = _nccf_terms(windows, su)
        ballast = ((mean_square * su.basic) ** 2 * float(_F32(opts.nccf_ballast))).astype(np.float32)
        nccf_pitch = _nccf(inner, norm, ballast.astype(np.float64)[:, None])
        nccf_pov = _nccf(inner, norm, 0.0)
        avg_norm = (norm.sum(axis=1) / norm.shape[1]).astype(np.float32)
        pitch_res = np.matmul(nccf_pitch, su.weights).astype(np.float32, copy=False)
        local = _local_cost(su, pitch_res)
        f0, count = self.nf, frames.shape[0]  # frames are f0, f0 + 1, ...
        self._reserve(f0 + count)
        # the NCCF on the lag grid is only needed at the traced-back states: keep the
        # integer-lag values and interpolate on demand (see _traceback)
        self.nccf_pov[f0 : f0 + count] = nccf_pov
        self.cur_best[f0 : f0 + count] = -1
        keep = int(np.count_nonzero(frames < opts.recompute_frame))
        if keep:
            self.info_avg.extend(avg_norm[:keep].tolist())
            self.info_ms.extend(mean_square[:keep].astype(np.float32).tolist())
            self.info_nccf.append(pitch_res[:keep])
        # the energy estimate is revised once frame recompute_frame - 1 is done
        split = opts.recompute_frame - f0 if not opts.nccf_ballast_online else -1
        if 0 < split < count:
            self._search(local[:split], f0)
            self._recompute()
            self._search(local[split:], f0 + split)
        else:
            self._search(local, f0)
            if split == count:
                self._recompute()

    def _search(self, local: np.ndarray, f0: int) -> None:
        """Viterbi steps for frames ``f0 .. f0 + len(local) - 1``."""
        su = self.su
        n = local.shape[0]
        self.forward_remainder += viterbi_frames(su.trans, su.row_base, local, self.forward, self.backptr[f0 : f0 + n])
        self.nf = f0 + n

    def input_finished(self, new_ds: np.ndarray) -> None:
        """Kaldi's ``InputFinished``: flush the last samples, maybe re-search, no latency."""
        self.finished = True
        self.accept(new_ds)
        if self.num_frames < self.opts.recompute_frame and not self.opts.nccf_ballast_online:
            self._recompute()
        self.latency = 0

    # -- pieces ---------------------------------------------------------------------
    def _update_remainder(self, new_sum: float, new_sumsq: float, total: int) -> None:
        self.sig_sumsq += new_sumsq
        self.sig_sum += new_sum
        self.n_proc = total

    def _extract(self, starts: np.ndarray, total: int) -> np.ndarray:
        """Windows of ``full`` samples at ``starts``; outside ``[0, total)`` reads zeros."""
        full = self.su.full
        lo = int(min(0, starts.min()))
        hi = int(max(total, starts.max() + full))
        padded = np.zeros(hi - lo, dtype=np.float64)
        signal = self.ds if self.source is None else self.source
        padded[-lo : -lo + total] = signal[:total]
        idx = (starts - lo)[:, None] + np.arange(full)[None, :]
        win = padded[idx]
        c = float(_F32(self.opts.preemphasis_coefficient))
        if c != 0.0:
            pos = starts[:, None] + np.arange(full)[None, :]
            valid = (pos >= 0) & (pos < total)
            prev_valid = np.zeros_like(valid)
            prev_valid[:, 1:] = valid[:, :-1]
            prev = np.zeros_like(win)
            prev[:, 1:] = win[:, :-1]
            win = np.where(valid, np.where(prev_valid, win - c * prev, win * (1.0 - c)), 0.0)
            win = win.astype(np.float32).astype(np.float64)
        return win

    def _recompute(self) -> None:
        """Kaldi's ``RecomputeBacktraces``: re-search early frames with the new energy."""
        opts, su = self.opts, self.su
        n = self.num_frames
        if n == 0:
            return
        num = float(self.n_proc)
        mean = self.sig_sum / num
        mean_square = _F32(self.sig_sumsq / num - mean * mean)
        need = any(not _approx_equal(float(ms), float(mean_square), 0.01) for ms in self.info_ms)
        if not need:
            self._clear_info()
            return
        ballast = float(_F32(opts.nccf_ballast))
        new_ballast = _F32(float(_F32(mean_square * _F32(su.basic))) ** 2 * ballast)
        scales = np.empty(n, dtype=np.float32)
        for t in range(n):  # at most recompute_frame scalars, in Kaldi's float rounding
            old_ballast = _F32(float(_F32(_F32(self.info_ms[t]) * _F32(su.basic))) ** 2 * ballast)
            avg = _F32(self.info_avg[t])
            scales[t] = _F32(np.power(_F32(_F32(old_ballast + avg) / _F32(new_ballast + avg)), _F32(0.5)))
        nccf = np.concatenate(self.info_nccf, axis=0)[:n]
        scaled = (nccf * scales[:, None]).astype(np.float32)
        self.forward = np.zeros(su.num_lags, dtype=np.float32)
        self.forward_remainder = 0.0
        self.cur_best[:n] = -1
        self._search(_local_cost(su, scaled), 0)
        self._traceback()
        self._clear_info()

    def _clear_info(self) -> None:
        self.info_avg.clear()
        self.info_ms.clear()
        self.info_nccf.clear()

    def _traceback(self) -> None:
        n = self.nf
        lo = traceback(self.backptr, self.cur_best, self.lag_idx, int(np.argmin(self.forward)), n - 1)
        if lo < n:
            # NCCF (no ballast) interpolated onto the lag grid at the chosen states only
            states = self.lag_idx[lo:n]
            w = self.su.weights[:, states]  # (num_measured_lags, frames)
            self.lag_nccf[lo:n] = np.einsum("fk,kf->f", self.nccf_pov[lo:n], w).astype(np.float32)
        self.n_traced = n
        self.latency = self._latency(self.opts.max_frames_latency)

    def _latency(self, max_latency: int) -> int:
        if max_latency <= 0:
            return 0
        latency = 0
        lo, hi = 0, self.su.num_lags - 1
        t = self.num_frames - 1
        while latency < max_latency:
            if t < 0:  # frame -1: all backpointers are 0
                return latency
            lo = int(self.backptr[t][lo])
            hi = int(self.backptr[t][hi])
            if lo == hi:
                return latency
            t -= 1
            latency += 1
        return latency

    def features(self, num: int | None = None, start: int = 0) -> np.ndarray:
        """``(frames, 2)`` float32 [NCCF, pitch] from the current traceback."""
        end = self.frames_ready() if num is None else num
        idx = self.lag_idx[start:end]
        out = np.empty((idx.shape[0], 2), dtype=np.float32)
        out[:, 0] = self.lag_nccf[start:end]
        out[:, 1] = self.su.inv_lags[idx]
        return out


def _approx_equal(a: float, b: float, tol: float) -> bool:
    a32, b32 = _F32(a), _F32(b)
    if a32 == b32:
        return True
    diff = abs(float(a32) - float(b32))
    if not math.isfinite(diff):
        return False
    return diff <= tol * (abs(float(a32)) + abs(float(b32)))


def _local_cost(su: _Setup, nccf: np.ndarray) -> np.ndarray:
    """Kaldi's ``ComputeLocalCost`` for ``(..., lags)`` resampled NCCF rows (float32)."""
    nccf = np.asarray(nccf, dtype=np.float32)
    out = np.subtract(_F32(1.0), nccf)
    out += su.soft_lags * nccf  # (1 - n) + s * n, each step rounded to float32
    return out


# =========================================================================== driver


def _as_wave(waveform: torch.Tensor | np.ndarray | Sequence[float]) -> np.ndarray:
    if isinstance(waveform, torch.Tensor):
        arr = waveform.detach().to("cpu", torch.float32).numpy()
    else:
        arr = np.asarray(waveform, dtype=np.float32)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1:
        raise OptionError(f"pitch expects a 1-D waveform (or (1, time)), got shape {tuple(arr.shape)}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _chunk_samples(opts: PitchExtractionOptions) -> int:
    return int(_F32(_F32(_F32(opts.frames_per_chunk) * _F32(opts.sample_frequency)) * _F32(opts.frame_shift)) / _F32(1000.0))


class _Run:
    """Feeds a waveform to a tracker chunk by chunk, as Kaldi's drivers do."""

    def __init__(self, wave: np.ndarray, opts: PitchExtractionOptions) -> None:
        self.opts = opts
        self.su = _make_setup(opts)
        su = self.su
        self.wave = wave
        cutoff = float(_F32(opts.lowpass_cutoff))
        if wave.shape[0] > 0:
            self.ds_all = linear_resample(
                torch.from_numpy(wave), su.fs, su.rs, cutoff, int(opts.lowpass_filter_width)
            ).numpy()
        else:
            self.ds_all = np.zeros(0, dtype=np.float32)
        self.tracker = _PitchTracker(opts, su, source=self.ds_all)
        self.tracker._reserve(self.ds_all.shape[0] // max(su.shift, 1) + 2)  # at least the final frame count
        self.ds_given = 0

    def _num_ds(self, num_input: int, flush: bool) -> int:
        su = self.su
        return linear_resample_num_output(
            num_input, su.fs, su.rs, float(_F32(self.opts.lowpass_cutoff)), int(self.opts.lowpass_filter_width), flush
        )

    def feed(self, num_input: int) -> None:
        n = self._num_ds(num_input, False)
        n = max(n, self.ds_given)
        self.tracker.accept(self.ds_all[self.ds_given : n])
        self.ds_given = n

    def finish(self) -> None:
        n = self._num_ds(self.wave.shape[0], True)
        self.tracker.input_finished(self.ds_all[self.ds_given : n])
        self.ds_given = n

    def chunks(self) -> list[int]:
        """Cumulative input sample counts at which Kaldi's drivers call AcceptWaveform."""
        total = self.wave.shape[0]
        if self.opts.frames_per_chunk == 0:
            return [total] if total > 0 else []
        step = _chunk_samples(self.opts)
        if step <= 0:
            raise OptionError("pitch: --frames-per-chunk gives chunks of zero samples")
        return list(range(step, total, step)) + ([total] if total > 0 else [])


def compute_kaldi_pitch(
    waveform: torch.Tensor | np.ndarray,
    opts: PitchExtractionOptions | None = None,
    **overrides: Any,
) -> torch.Tensor:
    """Raw Kaldi pitch features of one utterance.

    Args:
        waveform: ``(time,)`` or ``(1, time)`` samples in int16 scale (Kaldi's convention),
            at ``opts.sample_frequency``.
        opts: extraction options (defaults to Kaldi's).
        **overrides: option fields to change, e.g. ``min_f0=60.0``.

    Returns:
        ``(frames, 2)`` float32 tensor: ``[NCCF, pitch in Hz]``. Too-short input gives a
        ``(0, 0)`` tensor and a logged warning, as Kaldi does.

    Kaldi: ``ComputeKaldiPitch`` (``compute-kaldi-pitch-feats``).
    Differences: NCCF in float64 via FFT, so values differ from Kaldi's float sums in the
    last bits; on near-tie frames this can rarely select a neighbouring lag (one frame of
    the 2539 public golden frames). ``snip_edges=False`` with ``frames_per_chunk > 0``
    works here; Kaldi fails an assertion on it (frames straddling chunk boundaries).
    """
    opts = _resolve(PitchExtractionOptions, opts, overrides)
    wave = _as_wave(waveform)
    run = _Run(wave, opts)
    tr = run.tracker
    if opts.simulate_first_pass_online:
        if opts.frames_per_chunk <= 0:
            raise OptionError("--simulate-first-pass-online needs --frames-per-chunk > 0")
        pieces = []
        got = 0
        points = run.chunks()
        for i, n in enumerate(points):
            run.feed(n)
            if i == len(points) - 1:
                run.finish()
            ready = tr.frames_ready()
            if ready > got:
                pieces.append(tr.features(ready, got))
                got = ready
        if got == 0:
            _log.warning("No features output since wave file too short")
            return torch.zeros((0, 0), dtype=torch.float32)
        return torch.from_numpy(np.concatenate(pieces, axis=0))
    for n in run.chunks():
        run.feed(n)
    run.finish()
    feats = tr.features()
    if feats.shape[0] == 0:
        _log.warning("No frames output in pitch extraction")
        return torch.zeros((0, 0), dtype=torch.float32)
    return torch.from_numpy(feats)


# =========================================================================== processing


def _nccf_to_pov_feature(n: np.ndarray) -> np.ndarray:
    n = np.clip(n.astype(np.float32), -1.0, 1.0).astype(np.float64)
    return (np.power(1.0001 - n, 0.15) - 1.0).astype(np.float32)


def _nccf_to_pov(n: np.ndarray) -> np.ndarray:
    nd = np.minimum(np.abs(n.astype(np.float32)), _F32(1.0)).astype(np.float64)
    r = (-5.2 + 5.4 * np.exp(7.5 * (nd - 1.0)) + 4.8 * nd - 2.0 * np.exp(-10.0 * nd) + 4.2 * np.exp(20.0 * (nd - 1.0)))
    r = r.astype(np.float32).astype(np.float64)
    return (1.0 / (1.0 + np.exp(-r))).astype(np.float32)


def _process_frames(
    raw: np.ndarray,
    out_frames: np.ndarray,
    opts: ProcessPitchOptions,
    noise: np.ndarray,
    first: int = 0,
    total: int | None = None,
) -> np.ndarray:
    """Rows of ``OnlineProcessPitch`` for output frames ``out_frames``.

    Args:
        raw: ``(n, 2)`` source frames ``first .. first + n - 1`` ([NCCF, pitch]); they must
            cover the normalization and delta windows of every requested frame.
        out_frames: output frame indices (before the ``delay`` shift).
        opts: post-processing options.
        noise: delta-pitch noise per source frame.
        first: index of ``raw[0]``.
        total: number of source frames ready at that moment (default ``first + n``); the
            normalization and delta windows are clipped to it, as Kaldi's online
            post-processor does.
    """
    R = first + raw.shape[0] if total is None else total
    d = np.maximum(out_frames - opts.delay, 0)
    nccf = raw[:, 0].astype(np.float32)
    pitch = raw[:, 1].astype(np.float32)
    if np.any(pitch <= 0):
        raise OptionError("process pitch: pitch values must be positive (is the input raw Kaldi pitch?)")
    logp = np.log(pitch).astype(np.float32)
    dl = d - first  # positions in raw
    cols = []
    if opts.add_pov_feature:
        cols.append((_F32(opts.pov_scale) * _nccf_to_pov_feature(nccf[dl]) + _F32(opts.pov_offset)).astype(np.float32))
    if opts.add_normalized_log_pitch:
        pov = _nccf_to_pov(nccf)
        c_pov = np.concatenate([[0.0], np.cumsum(pov.astype(np.float64))])
        c_lp = np.concatenate([[0.0], np.cumsum((pov * logp).astype(np.float32).astype(np.float64))])
        b = np.maximum(d - opts.normalization_left_context, 0) - first
        e = np.minimum(d + opts.normalization_right_context + 1, R) - first
        avg = ((c_lp[e] - c_lp[b]) / (c_pov[e] - c_pov[b])).astype(np.float32)
        cols.append(((logp[dl] - avg) * _F32(opts.pitch_scale)).astype(np.float32))
    if opts.add_delta_pitch:
        w = opts.delta_window
        lo = np.maximum(d - w, 0)
        hi = np.minimum(d + w + 1, R) - 1
        acc = np.zeros(d.shape, dtype=np.float32)
        for j in range(-w, w + 1):
            if j == 0:
                continue
            scale = _F32(_F32(j) * _F32(1.0 / (2.0 * sum(k * k for k in range(1, w + 1)))))
            idx = np.clip(d + j, lo, hi) - first
            acc = (acc + scale * logp[idx]).astype(np.float32)
        cols.append(((acc + noise[d]) * _F32(opts.delta_pitch_scale)).astype(np.float32))
    if opts.add_raw_log_pitch:
        cols.append(logp[dl])
    return np.stack(cols, axis=1).astype(np.float32)


def _noise(rng: GlibcRandom, n: int, opts: ProcessPitchOptions) -> np.ndarray:
    if not opts.add_delta_pitch:
        return np.zeros(n, dtype=np.float32)
    return (rng.gauss(n) * _F32(opts.delta_pitch_noise_stddev)).astype(np.float32)


def process_kaldi_pitch(
    features: torch.Tensor | np.ndarray,
    opts: ProcessPitchOptions | None = None,
    *,
    rng: GlibcRandom | int | None = None,
    **overrides: Any,
) -> torch.Tensor:
    """Post-process raw ``[NCCF, pitch]`` into Kaldi's pitch features.

    Args:
        features: ``(frames, 2)`` raw pitch features (:func:`compute_kaldi_pitch`).
        opts: post-processing options (defaults to Kaldi's).
        rng: source of the delta-pitch noise: a :class:`GlibcRandom` (its stream continues
            across calls, as Kaldi's global ``rand()`` does across utterances), an integer
            seed, or ``None`` for a fresh stream seeded like ``srand(0)``.
        **overrides: option fields to change.

    Returns:
        ``(frames + delay, dim)`` float32 tensor with, in order, the POV feature, the
        normalized log-pitch, the delta log-pitch and the raw log-pitch (those selected).

    Kaldi: ``ProcessPitch`` (``process-kaldi-pitch-feats``).
    """
    opts = _resolve(ProcessPitchOptions, opts, overrides)
    raw = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else np.asarray(features)
    raw = np.asarray(raw, dtype=np.float32)
    if raw.ndim != 2 or (raw.shape[0] > 0 and raw.shape[1] != 2):
        raise OptionError(f"process pitch: expected a (frames, 2) matrix, got shape {raw.shape}")
    gen = rng if isinstance(rng, GlibcRandom) else GlibcRandom(0 if rng is None else int(rng))
    n = raw.shape[0]
    if n == 0:
        return torch.zeros((0, 0), dtype=torch.float32)
    noise = _noise(gen, n, opts)
    out = _process_frames(raw, np.arange(n + opts.delay), opts, noise)
    return torch.from_numpy(out)


def compute_and_process_kaldi_pitch(
    waveform: torch.Tensor | np.ndarray,
    pitch_opts: PitchExtractionOptions | None = None,
    process_opts: ProcessPitchOptions | None = None,
    *,
    rng: GlibcRandom | int | None = None,
) -> torch.Tensor:
    """Extraction and post-processing in one pass, with online simulation.

    Args:
        waveform: ``(time,)`` samples in int16 scale.
        pitch_opts: extraction options.
        process_opts: post-processing options.
        rng: delta-pitch noise source (see :func:`process_kaldi_pitch`); ``None`` means a
            fresh stream seeded like a program that never called ``srand``.

    Returns:
        ``(frames, dim)`` float32 tensor; ``(0, 0)`` when no frame was produced with
        ``simulate_first_pass_online``.

    Kaldi: ``ComputeAndProcessKaldiPitch`` (``compute-and-process-kaldi-pitch-feats``).
    """
    popts = _resolve(PitchExtractionOptions, pitch_opts, {})
    qopts = _resolve(ProcessPitchOptions, process_opts, {})
    if popts.simulate_first_pass_online and popts.frames_per_chunk <= 0:
        raise OptionError("--simulate-first-pass-online needs --frames-per-chunk > 0")
    gen = rng if isinstance(rng, GlibcRandom) else GlibcRandom(1 if rng is None else int(rng))
    wave = _as_wave(waveform)
    run = _Run(wave, popts)
    tr = run.tracker
    total = wave.shape[0]
    points = run.chunks()
    if popts.frames_per_chunk == 0 and total > 0:
        points = [total]
    noise = np.zeros(0, dtype=np.float32)
    rows: list[np.ndarray] = []
    cur = 0
    for i, n in enumerate(points):
        run.feed(n)
        if i == len(points) - 1:
            run.finish()
        src_ready = tr.frames_ready()
        finished = tr.finished
        if src_ready == 0:
            ready = 0
        elif finished:
            ready = src_ready + qopts.delay
        else:
            ready = max(0, src_ready - qopts.normalization_right_context + qopts.delay)
        if ready > cur:
            need = max(ready - qopts.delay, 1)  # noise is drawn per source frame, in order
            if noise.shape[0] < need:
                noise = np.concatenate([noise, _noise(gen, need - noise.shape[0], qopts)])
            if popts.simulate_first_pass_online:  # final features are recomputed below
                ctx = max(qopts.normalization_left_context, qopts.delta_window)
                lo = max(0, cur - qopts.delay - ctx)
                hi = min(src_ready, ready - qopts.delay + max(qopts.normalization_right_context, qopts.delta_window) + 1)
                raw = tr.features(hi, lo)
                rows.append(_process_frames(raw, np.arange(cur, ready), qopts, noise, first=lo, total=src_ready))
            cur = ready
    if popts.simulate_first_pass_online:
        if cur == 0:
            _log.warning("No features output since wave file too short")
            return torch.zeros((0, 0), dtype=torch.float32)
        return torch.from_numpy(np.concatenate(rows, axis=0))
    src_ready = tr.frames_ready()
    if src_ready == 0:
        return torch.zeros((0, 0), dtype=torch.float32)
    raw = tr.features(src_ready)
    return torch.from_numpy(_process_frames(raw, np.arange(src_ready + qopts.delay), qopts, noise))


# =========================================================================== modules


class KaldiPitch(torch.nn.Module):
    """Module form of :func:`compute_kaldi_pitch` (one utterance per call).

    Args:
        opts: extraction options; keyword overrides are applied on top.
    """

    def __init__(self, opts: PitchExtractionOptions | None = None, **overrides: Any) -> None:
        super().__init__()
        self.opts = _resolve(PitchExtractionOptions, opts, overrides)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(time,)`` int16-scale samples -> ``(frames, 2)`` [NCCF, pitch]."""
        return compute_kaldi_pitch(waveform, self.opts)


class ProcessKaldiPitch(torch.nn.Module):
    """Module form of :func:`process_kaldi_pitch`; keeps one noise stream across calls.

    Args:
        opts: post-processing options; keyword overrides are applied on top.
        seed: ``srand`` seed of the delta-pitch noise stream.
    """

    def __init__(self, opts: ProcessPitchOptions | None = None, seed: int = 0, **overrides: Any) -> None:
        super().__init__()
        self.opts = _resolve(ProcessPitchOptions, opts, overrides)
        self.rng = GlibcRandom(seed)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(frames, 2)`` raw pitch -> ``(frames + delay, dim)`` processed features."""
        return process_kaldi_pitch(features, self.opts, rng=self.rng)
