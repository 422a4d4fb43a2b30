"""Pitch interpolation over unvoiced frames (Kaldi's ``interpolate-pitch``).

Input is a ``(frames, 2)`` matrix of ``[p(voicing), pitch in Hz]`` where ``pitch == 0``
marks frames without a pitch estimate (the convention of external pitch trackers). Two
methods, as in Kaldi:

* linear (:func:`linear_interpolate_pitch`): each run of zero-pitch frames becomes a
  straight line between the pitch values around it; a run at either end of the file
  leans towards 0.9 times the value at its other end (so that its slope is not zero).
  Kaldi's check for a left neighbour is ``start > 0``, so a run starting at frame 1
  ignores frame 0 as well; this is reproduced.
* model-based (:func:`interpolate_pitch`): a Viterbi search over pitch discretized in
  ``pitch_interval`` Hz steps; each frame prefers its observed pitch with weight
  ``max_voicing_prob * p(voicing)`` against ``interpolator_factor`` for every other
  value, the transition log-probability is ``-0.5 * (change in Hz)**2``, and at most
  ``max_pitch_change_per_frame`` Hz of change is searched. The grid of each frame is
  offset by ``-pitch_interval * RandUniform()`` and each frame's scores get
  ``0.01 * N(0, 1)`` noise; both come from the C library ``rand()`` (and ``rand_r``
  streams seeded from it), reproduced here with :class:`GlibcRandom` so that the output
  equals Kaldi's for the same position in the random stream.

Kaldi: ``src/featbin/interpolate-pitch.cc`` (``PitchInterpolator``,
``LinearlyInterpolatePitch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kaldibridge.errors import OptionError
from kaldibridge.kaldi.features.pitch_rand import GlibcRandom, kaldi_randn_rows
from kaldibridge.kaldi.options import OptionGroup, option

__all__ = ["PitchInterpolatorOptions", "InterpolationStats", "interpolate_pitch", "linear_interpolate_pitch"]

_F32 = np.float32


@dataclass(frozen=True)
class PitchInterpolatorOptions(OptionGroup):
    """Options of model-based pitch interpolation.

    Kaldi: ``PitchInterpolatorOptions`` (``interpolate-pitch``).
    """

    pitch_interval: float = option(4.0, "Step in Hz of the pitch grid the smoothing search runs on.")
    interpolator_factor: float = option(
        1.0e-05,
        "Weight of pitch values other than the observed one; nearer zero follows the input "
        "more closely, larger values give smoother tracks.",
    )
    max_voicing_prob: float = option(
        0.9, "Scale applied to p(voicing), so that even fully voiced frames can be smoothed when below 1."
    )
    max_pitch_change_per_frame: float = option(
        10.0, "Largest pitch change (Hz) searched between consecutive frames; larger is slower."
    )

    def check(self) -> None:
        """Kaldi's ``Check()``: done by the model-based search only (the linear mode and
        the parser accept any values)."""
        if not (0.0 < self.pitch_interval < 20.0):
            raise OptionError(f"interpolate-pitch: need 0 < --pitch-interval < 20, got {self.pitch_interval}")
        if not (0.0 < self.interpolator_factor < 1.0):
            raise OptionError(
                f"interpolate-pitch: need 0 < --interpolator-factor < 1, got {self.interpolator_factor}"
            )
        if not (0.5 <= self.max_voicing_prob <= 1.0):
            raise OptionError(
                f"interpolate-pitch: need 0.5 <= --max-voicing-prob <= 1, got {self.max_voicing_prob}"
            )
        if not (self.max_pitch_change_per_frame > 2.0 * self.pitch_interval):
            raise OptionError(
                "interpolate-pitch: --max-pitch-change-per-frame must exceed twice --pitch-interval, got "
                f"{self.max_pitch_change_per_frame} and {self.pitch_interval}"
            )


@dataclass
class InterpolationStats:
    """Frame counts of model-based interpolation (Kaldi's ``PitchInterpolatorStats``)."""

    frames: int = 0
    zero: int = 0  # frames whose input pitch was 0
    changed: int = 0  # frames with a pitch that the search moved to another grid value

    def message(self) -> str:
        """Kaldi's summary line."""
        tot = self.frames
        zero = float(_F32(self.zero * 100.0 / tot)) if tot else float("nan")
        changed = float(_F32(self.changed * 100.0 / tot)) if tot else float("nan")
        return (
            f"Over {tot} frames, {_cpp_float(zero)}% were zero at input, and "
            f"{_cpp_float(changed)}% were not zero but were changed."
        )


def _cpp_float(x: float) -> str:
    """A float as C++ ``ostream << float`` prints it (6 significant digits, ``%g``)."""
    if np.isnan(x):
        return "-nan" if np.signbit(x) else "nan"
    return f"{x:g}"


def _as_matrix(features: torch.Tensor | np.ndarray) -> np.ndarray:
    arr = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else np.asarray(features)
    arr = np.array(arr, dtype=np.float32)  # a copy: the result must not alias the input
    if arr.ndim != 2:
        raise OptionError(f"interpolate-pitch: expected a (frames, 2) matrix, got shape {arr.shape}")
    return arr


def linear_interpolate_pitch(features: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Fill zero-pitch runs by straight lines between their neighbours.

    Args:
        features: ``(frames, cols)`` matrix, ``cols >= 2``; column 1 is the pitch, 0 meaning
            unknown. Other columns are passed through.

    Returns:
        ``(frames, cols)`` float32 tensor with column 1 filled.

    Kaldi: ``LinearlyInterpolatePitch`` (``interpolate-pitch --linear-interpolation=true``).
    """
    mat = _as_matrix(features)
    if mat.shape[0] == 0:
        return torch.from_numpy(mat)
    if mat.shape[1] < 2:
        raise OptionError(f"interpolate-pitch: the pitch is column 1, but the matrix has {mat.shape[1]} column(s)")
    pitch = mat[:, 1]
    n = pitch.shape[0]
    zero = pitch == 0.0
    if not zero.any():
        return torch.from_numpy(mat)
    edges = np.diff(np.concatenate([[0], zero.astype(np.int8), [0]]))
    run_start = np.flatnonzero(edges == 1)  # first zero frame of each run
    run_end = np.flatnonzero(edges == -1)  # first frame after it
    start = run_start - 1
    sv = np.where(start > 0, pitch[np.maximum(start, 0)], _F32(-1.0)).astype(np.float32)
    ev = np.where(run_end < n, pitch[np.minimum(run_end, n - 1)], _F32(-1.0)).astype(np.float32)
    both = (sv < 0) & (ev < 0)  # nothing voiced around: any value, it is normalized away
    sv = np.where(both, _F32(1.0), sv)
    ev = np.where(both, _F32(1.0), ev)
    sv = np.where(sv < 0, (0.9 * ev.astype(np.float64)).astype(np.float32), sv)
    ev = np.where(ev < 0, (0.9 * sv.astype(np.float64)).astype(np.float32), ev)
    lengths = run_end - run_start
    k = np.arange(n)[zero]
    rs = np.repeat(start, lengths)
    step = ((np.repeat(ev, lengths) - np.repeat(sv, lengths)) / (run_end - start).astype(np.float32)[np.repeat(
        np.arange(lengths.shape[0]), lengths)]).astype(np.float32)
    mat[zero, 1] = (np.repeat(sv, lengths) + step * (k - rs).astype(np.float32)).astype(np.float32)
    return torch.from_numpy(mat)


def interpolate_pitch(
    features: torch.Tensor | np.ndarray,
    opts: PitchInterpolatorOptions | None = None,
    *,
    rng: GlibcRandom | int | None = None,
    stats: InterpolationStats | None = None,
    **overrides: Any,
) -> torch.Tensor:
    """Model-based smoothing and interpolation of a pitch track.

    Args:
        features: ``(frames, 2)`` matrix ``[p(voicing), pitch in Hz]``; pitch 0 means unknown.
        opts: options (Kaldi's defaults when ``None``); keyword overrides on top.
        rng: the C library ``rand()`` stream: a :class:`GlibcRandom` (continues across
            calls, as Kaldi's does across utterances), a seed, or ``None`` for a program
            that never called ``srand`` (seed 1).
        stats: accumulates frame counts when given.

    Returns:
        ``(frames, 2)`` float32 tensor: column 0 unchanged, column 1 the smoothed pitch.

    Kaldi: ``PitchInterpolator`` (``interpolate-pitch``).
    Differences: an empty matrix is returned unchanged (Kaldi reads past its end).
    """
    if opts is None:
        opts = PitchInterpolatorOptions()
    elif not isinstance(opts, PitchInterpolatorOptions):
        raise OptionError(f"expected PitchInterpolatorOptions, got {type(opts).__name__}")
    if overrides:
        opts = opts.replace(**overrides)
    opts.check()
    gen = rng if isinstance(rng, GlibcRandom) else GlibcRandom(1 if rng is None else int(rng))
    mat = _as_matrix(features)
    if mat.shape[0] == 0:
        return torch.from_numpy(mat)
    if mat.shape[1] != 2:
        raise OptionError(f"interpolate-pitch: expected 2 columns (p(voicing), pitch), got {mat.shape[1]}")
    n = mat.shape[0]
    interval = _F32(opts.pitch_interval)
    pitch_in = mat[:, 1]
    voiced = pitch_in != 0.0
    p_voicing = np.where(voiced, mat[:, 0] * _F32(opts.max_voicing_prob), _F32(0.0)).astype(np.float32)
    if voiced.any():
        lo, hi = _F32(pitch_in[voiced].min()), _F32(pitch_in[voiced].max())
    else:
        lo, hi = _F32(100.0), _F32(100.0)
    if float(hi) <= float(lo) + 2.0 * float(interval):
        hi = _F32(float(lo) + 2.0 * float(interval))
    num_pitches = int(np.floor(float(_F32(_F32(hi - lo) / interval)) + 0.5)) + 2
    # per-frame bottom of the grid, randomly lowered by up to one interval
    u = gen.uniform(n).astype(np.float32)
    grid_lo = (lo - (interval * u).astype(np.float32)).astype(np.float32)
    obs = np.floor((((pitch_in - grid_lo) / interval).astype(np.float32)).astype(np.float64) + 0.5).astype(np.int64)
    obs = np.where(voiced, obs, 0)
    if np.any((obs < 0) | (obs >= num_pitches)):
        raise OptionError("interpolate-pitch: a pitch value falls outside the discretized range")
    # observation scores: log(constant) everywhere, log(voicing + constant) at the observed value
    const = ((1.0 - p_voicing.astype(np.float64)) * float(_F32(opts.interpolator_factor))).astype(np.float32)
    specified = (p_voicing + const).astype(np.float32)
    log_const = np.log(const.astype(np.float64)).astype(np.float32)
    log_ratio = np.log((specified / const).astype(np.float32).astype(np.float64)).astype(np.float32)
    noise = (_F32(0.01) * kaldi_randn_rows(gen.rand(n) + 27437, num_pitches)).astype(np.float32)
    k_max = int(np.floor(float(_F32(_F32(opts.max_pitch_change_per_frame) / interval)) + 0.5))
    backptr, last = _viterbi(grid_lo, interval, num_pitches, k_max, log_const, log_ratio, obs, noise)
    states = np.empty(n, dtype=np.int64)
    states[-1] = last
    for t in range(n - 1, 0, -1):  # backtrace: one lookup per frame
        states[t - 1] = backptr[t - 1, states[t]]
    out = mat.copy()
    out[:, 1] = (grid_lo + (interval * states.astype(np.float32)).astype(np.float32)).astype(np.float32)
    if stats is not None:
        # the reference counts frames whose discretized input is bin 0 as "zero", too
        stats.frames += n
        stats.zero += int(np.count_nonzero(obs == 0))
        stats.changed += int(np.count_nonzero((obs != 0) & (states != obs)))
    return torch.from_numpy(out)


def _observe(alpha: np.ndarray, t: int, log_const, log_ratio, obs, noise) -> np.ndarray:
    """Kaldi's ``MultiplyObsProb``: add frame ``t``'s observation scores and noise (float32)."""
    alpha = (alpha + log_const[t]).astype(np.float32)
    alpha[obs[t]] = _F32(alpha[obs[t]] + log_ratio[t])
    return (alpha + noise[t]).astype(np.float32)


def _viterbi(grid_lo, interval, num_pitches, k_max, log_const, log_ratio, obs, noise) -> tuple[np.ndarray, int]:
    """Forward pass of the search.

    Each step is vectorized over the ``num_pitches x (2 k_max + 1)`` candidates; frames
    are sequential (a recursion).

    Returns:
        ``(backpointers, last)``: ``(frames - 1, num_pitches)`` int64, row ``t - 1`` holding
        the best state at frame ``t - 1`` for each state at frame ``t``, and the best final
        state (first maximum).
    """
    n = grid_lo.shape[0]
    p = np.arange(num_pitches)
    offs = np.arange(-k_max, k_max + 1)
    prev_idx = p[:, None] + offs[None, :]  # (P, 2K+1), candidates in increasing order
    valid = (prev_idx >= 0) & (prev_idx < num_pitches)
    prev_c = np.clip(prev_idx, 0, num_pitches - 1)
    prev_steps = (interval * prev_c.astype(np.float32)).astype(np.float32)
    cur_steps = (interval * p.astype(np.float32)).astype(np.float32)
    alpha = _observe(np.zeros(num_pitches, dtype=np.float32), 0, log_const, log_ratio, obs, noise)
    backptr = np.empty((max(n - 1, 0), num_pitches), dtype=np.int64)
    for t in range(1, n):
        prev_pitch = (grid_lo[t - 1] + prev_steps).astype(np.float32)
        cur_pitch = (grid_lo[t] + cur_steps).astype(np.float32)
        delta = (prev_pitch - cur_pitch[:, None]).astype(np.float32).astype(np.float64)
        score = (alpha[prev_c].astype(np.float64) - 0.5 * delta * delta).astype(np.float32)
        score = np.where(valid, score, -np.inf).astype(np.float32)
        j = score.argmax(axis=1)  # first maximum, as the reference's strict '>'
        backptr[t - 1] = prev_c[p, j]
        alpha = _observe(score[p, j], t, log_const, log_ratio, obs, noise)
    return backptr, int(np.argmax(alpha))
