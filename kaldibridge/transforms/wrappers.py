"""Module wrappers with torchaudio's names: Resample, SlidingWindowCmn, ComputeDeltas,
SpeedPerturbation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

import torch
from torch import Tensor

from kaldibridge.errors import OptionError
from kaldibridge.functional.cmvn import sliding_window_cmn
from kaldibridge.functional.deltas import compute_deltas
from kaldibridge.functional.resample import resample
from kaldibridge.functional.stretch import speed

__all__ = ["Resample", "SlidingWindowCmn", "ComputeDeltas", "SpeedPerturbation"]


class Resample(torch.nn.Module):
    """Resample ``(..., time)`` audio from ``orig_freq`` to ``new_freq`` Hz.

    See :func:`kaldibridge.functional.resample`; the filter is rebuilt on each call on the
    input's device and dtype (its cost is small next to the convolution).

    Args:
        orig_freq: Input rate in Hz (integer-valued).
        new_freq: Output rate in Hz (integer-valued).
        resampling_method: ``"sinc_interp_hann"`` or ``"sinc_interp_kaiser"``.
        lowpass_filter_width: Filter half-width in zero crossings.
        rolloff: Cutoff as a fraction of the lower Nyquist frequency.
        beta: Kaiser window shape, or ``None`` for the default.
        dtype: Accepted for torchaudio compatibility; the kernel follows the input dtype.
    """

    def __init__(
        self,
        orig_freq: int = 16000,
        new_freq: int = 16000,
        resampling_method: Literal["sinc_interp_hann", "sinc_interp_kaiser"] = "sinc_interp_hann",
        lowpass_filter_width: int = 6,
        rolloff: float = 0.99,
        beta: float | None = None,
        *,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if lowpass_filter_width <= 0:
            raise OptionError(f"lowpass_filter_width must be positive, got {lowpass_filter_width}")
        if resampling_method not in ("sinc_interp_hann", "sinc_interp_kaiser"):
            raise OptionError(
                f"unknown resampling_method {resampling_method!r} "
                "(expected sinc_interp_hann or sinc_interp_kaiser)"
            )
        self.orig_freq = orig_freq
        self.new_freq = new_freq
        self.resampling_method = resampling_method
        self.lowpass_filter_width = lowpass_filter_width
        self.rolloff = rolloff
        self.beta = beta

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)`` float. Returns: ``(..., new_time)``."""
        return resample(
            waveform,
            self.orig_freq,
            self.new_freq,
            self.lowpass_filter_width,
            self.rolloff,
            self.resampling_method,
            self.beta,
        )


class SlidingWindowCmn(torch.nn.Module):
    """Sliding-window cepstral mean (and variance) normalization of ``(..., time, freq)``.

    See :func:`kaldibridge.functional.sliding_window_cmn` (which floors variances at 1e-10).

    Args:
        cmn_window: Window size in frames.
        min_cmn_window: Minimum window at the start when not centred.
        center: Centre the window on the frame instead of preceding it.
        norm_vars: Also normalize the variance.
    """

    def __init__(
        self, cmn_window: int = 600, min_cmn_window: int = 100, center: bool = False, norm_vars: bool = False
    ) -> None:
        super().__init__()
        self.cmn_window = cmn_window
        self.min_cmn_window = min_cmn_window
        self.center = center
        self.norm_vars = norm_vars

    def forward(self, specgram: Tensor) -> Tensor:
        """Args: specgram ``(..., time, freq)``. Returns: same shape and dtype."""
        out = sliding_window_cmn(specgram, self.cmn_window, self.min_cmn_window, self.center, self.norm_vars)
        return cast(Tensor, out)  # a plain tensor: return_num_floored is False


class ComputeDeltas(torch.nn.Module):
    """Delta coefficients along the last (time) axis of ``(..., freq, time)``.

    Args:
        win_length: Regression window length (odd, >= 3).
        mode: Padding mode at the edges.
    """

    def __init__(
        self, win_length: int = 5, mode: Literal["replicate", "reflect", "constant", "circular"] = "replicate"
    ) -> None:
        super().__init__()
        self.win_length = win_length
        self.mode = mode

    def forward(self, specgram: Tensor) -> Tensor:
        """Args: specgram ``(..., freq, time)``. Returns: same shape."""
        return compute_deltas(specgram, self.win_length, self.mode)


class SpeedPerturbation(torch.nn.Module):
    """Speed perturbation with a factor drawn uniformly from ``factors`` on each call.

    One factor is drawn per call (the whole batch shares it, as in torchaudio), using
    torch's global generator.

    Args:
        orig_freq: Sampling rate in Hz.
        factors: Candidate speed factors, e.g. ``[0.9, 1.0, 1.1]``.
    """

    def __init__(self, orig_freq: int, factors: Sequence[float]) -> None:
        super().__init__()
        if len(factors) == 0:
            raise OptionError("SpeedPerturbation needs at least one factor")
        bad = [f for f in factors if not f > 0]
        if bad:
            raise OptionError(f"speed factors must be positive; got {bad}")
        self.orig_freq = orig_freq
        self.factors = [float(f) for f in factors]

    def forward(self, waveform: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Args: waveform ``(..., time)``; lengths ``(...)`` or None.

        Returns: ``(output (..., new_time), scaled lengths or None)``.
        """
        idx = int(torch.randint(len(self.factors), ()))
        return speed(waveform, self.orig_freq, self.factors[idx], lengths)
