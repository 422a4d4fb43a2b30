"""transforms.Convolve / FFTConvolve: the modules against numpy's convolution and each other."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import kaldibridge.transforms as T
from kaldibridge.errors import OptionError


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
def test_convolve_modules_match_numpy(mode: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 50, generator=g, dtype=torch.float64)
    y = torch.randn(3, 7, generator=g, dtype=torch.float64)  # broadcasts over the batch
    direct = T.Convolve(mode)(x, y)
    via_fft = T.FFTConvolve(mode)(x, y)
    want = np.stack([[np.convolve(x[i, c].numpy(), y[c].numpy(), mode=mode) for c in range(3)] for i in range(2)])
    assert direct.shape == want.shape
    np.testing.assert_allclose(direct.numpy(), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(via_fft.numpy(), want, rtol=0, atol=1e-12)


def test_convolve_modules_refuse_unknown_modes() -> None:
    with pytest.raises(OptionError):
        T.Convolve("circular")  # type: ignore[arg-type]
    with pytest.raises(OptionError):
        T.FFTConvolve("circular")  # type: ignore[arg-type]
