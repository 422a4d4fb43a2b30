"""SpecAugment modules: FrequencyMasking, TimeMasking, SpecAugment."""

from __future__ import annotations

import torch
from torch import Tensor

from kaldibridge.errors import OptionError
from kaldibridge.functional.masking import mask_along_axis, mask_along_axis_iid

__all__ = ["FrequencyMasking", "TimeMasking", "SpecAugment"]


def _mask(specgram: Tensor, param: int, value: float | Tensor, axis: int, iid: bool, p: float) -> Tensor:
    """Mask along ``axis`` (-2 frequency, -1 time); ``iid`` draws one span per leading index."""
    if iid and specgram.dim() == 2:
        return mask_along_axis_iid(specgram.unsqueeze(0), param, value, axis, p).squeeze(0)
    if iid:
        return mask_along_axis_iid(specgram, param, value, axis, p)
    return mask_along_axis(specgram, param, value, axis, p)


class _AxisMasking(torch.nn.Module):
    def __init__(self, mask_param: int, axis: int, iid_masks: bool, p: float) -> None:
        super().__init__()
        if mask_param < 0:
            raise OptionError(f"mask_param must be non-negative; got {mask_param}")
        if not 0.0 <= p <= 1.0:
            raise OptionError(f"p must be in [0, 1]; got {p}")
        self.mask_param = mask_param
        self.axis = axis
        self.iid_masks = iid_masks
        self.p = p

    def forward(self, specgram: Tensor, mask_value: float | Tensor = 0.0) -> Tensor:
        """Args: specgram ``(..., freq, time)``; mask_value written into the span.
        Returns: masked copy, same shape."""
        return _mask(specgram, self.mask_param, mask_value, self.axis, self.iid_masks, self.p)


class FrequencyMasking(_AxisMasking):
    """Mask a band of up to ``freq_mask_param`` consecutive frequency bins.

    Args:
        freq_mask_param: Upper bound on the band width.
        iid_masks: Draw an independent band for every ``(freq, time)`` matrix (every item and
            channel of the batch) instead of one band shared by the batch.
    """

    def __init__(self, freq_mask_param: int, iid_masks: bool = False) -> None:
        super().__init__(freq_mask_param, -2, iid_masks, 1.0)


class TimeMasking(_AxisMasking):
    """Mask a span of up to ``time_mask_param`` consecutive frames.

    Args:
        time_mask_param: Upper bound on the span length.
        iid_masks: Draw an independent span for every ``(freq, time)`` matrix.
        p: Largest span as a fraction of the number of frames.
    """

    def __init__(self, time_mask_param: int, iid_masks: bool = False, p: float = 1.0) -> None:
        super().__init__(time_mask_param, -1, iid_masks, p)


class SpecAugment(torch.nn.Module):
    """Several time masks then several frequency masks (Park et al., 2019; no time warping).

    Args:
        n_time_masks: Number of time masks.
        time_mask_param: Upper bound on each time span.
        n_freq_masks: Number of frequency masks.
        freq_mask_param: Upper bound on each frequency band.
        iid_masks: Independent masks for every ``(freq, time)`` matrix.
        p: Largest time span as a fraction of the number of frames.
        zero_masking: Fill with 0 instead of the input's mean.

    Differences:
        torchaudio fills with the mean of the whole batch; here each ``(freq, time)`` matrix is
        filled with its own mean, so a batch equals the loop over its items.
    """

    def __init__(
        self,
        n_time_masks: int,
        time_mask_param: int,
        n_freq_masks: int,
        freq_mask_param: int,
        iid_masks: bool = True,
        p: float = 1.0,
        zero_masking: bool = False,
    ) -> None:
        super().__init__()
        self.n_time_masks = n_time_masks
        self.time_mask_param = time_mask_param
        self.n_freq_masks = n_freq_masks
        self.freq_mask_param = freq_mask_param
        self.iid_masks = iid_masks
        self.p = p
        self.zero_masking = zero_masking

    def forward(self, specgram: Tensor) -> Tensor:
        """Args: specgram ``(..., freq, time)``. Returns: masked copy, same shape."""
        value: float | Tensor = 0.0 if self.zero_masking else specgram.mean(dim=(-2, -1), keepdim=True)
        for _ in range(self.n_time_masks):
            specgram = _mask(specgram, self.time_mask_param, value, -1, self.iid_masks, self.p)
        for _ in range(self.n_freq_masks):
            specgram = _mask(specgram, self.freq_mask_param, value, -2, self.iid_masks, 1.0)
        return specgram
