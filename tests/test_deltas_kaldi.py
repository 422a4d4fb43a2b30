"""add-deltas, subsample/shift/append helpers and their tools against Kaldi's goldens."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from kaldibridge.cli.registry import load_tool
from kaldibridge.errors import FormatError, OptionError
from kaldibridge.kaldi.features.deltas import DeltaFeaturesOptions, compute_deltas_kaldi
from kaldibridge.kaldi.features.select import (
    append_post_to_feats,
    append_vector_to_feats,
    posterior_to_matrix,
    shift_feats,
    subsample_feats,
)
from kaldibridge.kaldi.table import SequentialTableReader

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
K = GOLDEN / "kaldi"
needs_golden = pytest.mark.skipif(not (K / "manifest.json").exists(), reason="golden data not present")


def load(spec: str | Path, holder: str = "matrix") -> dict:
    spec = str(spec)
    return dict(SequentialTableReader(spec if ":" in spec.split("/")[0] else f"ark:{spec}", holder))


@needs_golden
@pytest.mark.parametrize("case,kw", [("deltas_default", {}), ("deltas_order1", {"delta_order": 1}),
                                     ("deltas_window3", {"delta_window": 3})])
def test_deltas_bit_exact(case: str, kw: dict) -> None:
    feats = load(K / "fbank_default" / "out.ark")
    ref = load(K / case / "out.ark")
    for key, x in feats.items():
        # numpy path (what the tool uses): within float rounding (Kaldi's saxpy fuses
        # multiply and add); the torch path sums the taps the same way and is bit-exact
        np.testing.assert_allclose(compute_deltas_kaldi(x, **kw), ref[key], rtol=1e-6, atol=1e-5)
        np.testing.assert_array_equal(compute_deltas_kaldi(torch.from_numpy(x), **kw).numpy(), ref[key])


@needs_golden
@pytest.mark.parametrize("case,fn,src", [
    ("subsample_3", lambda x: subsample_feats(x, 3), "fbank_default"),
    ("subsample_neg2", lambda x: subsample_feats(x, -2), "fbank_window_hamming"),
    ("shift_feats_pos2", lambda x: shift_feats(x, 2), "fbank_default"),
    ("shift_feats_neg3", lambda x: shift_feats(x, -3), "fbank_default"),
])
def test_select_ops_bit_exact(case: str, fn, src: str) -> None:
    feats = load(K / src / "out.ark")
    ref = load(K / case / "out.ark")
    assert list(ref) == list(feats)
    for key, x in feats.items():
        np.testing.assert_array_equal(fn(x), ref[key])


@needs_golden
def test_append_vector_and_post_bit_exact() -> None:
    feats = load(K / "fbank_window_hamming" / "out.ark")
    vecs = load(f"ark,t:{K / 'append_vector_to_feats' / 'vectors.txt'}", "vector")
    ref = load(K / "append_vector_to_feats" / "out.ark")
    for key in ref:
        np.testing.assert_array_equal(append_vector_to_feats(feats[key], vecs[key]), ref[key])
    post = load(f"ark,t:{K / 'append_post_to_feats' / 'post.txt'}", "posterior")
    ref = load(K / "append_post_to_feats" / "out.ark")
    for key in ref:
        np.testing.assert_array_equal(append_post_to_feats(feats[key], post[key], 5), ref[key])


def test_helpers_closed_form_and_errors() -> None:
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.testing.assert_array_equal(subsample_feats(x, 2, 1), x[[1, 3, 5]])
    assert subsample_feats(x, 10, 7).shape == (0, 2)
    np.testing.assert_array_equal(subsample_feats(torch.from_numpy(x), -3).numpy(), np.repeat(x, 3, 0))
    with pytest.raises(FormatError):
        subsample_feats(x, 0)
    with pytest.raises(FormatError):
        subsample_feats(x, -2, 1)
    with pytest.raises(FormatError):
        shift_feats(np.zeros((0, 2), np.float32), 1)
    m = posterior_to_matrix([[(0, 0.5), (2, 0.5)], [], [(1, 1.0)]], 3)
    np.testing.assert_array_equal(m, [[0.5, 0, 0.5], [0, 0, 0], [0, 1, 0]])
    with pytest.raises(FormatError, match="Out-of-bound"):
        posterior_to_matrix([[(3, 1.0)]], 3)
    with pytest.raises(FormatError, match="Mismatch of length"):
        append_post_to_feats(x, [[]], 3)
    y = append_vector_to_feats(torch.from_numpy(x), np.array([7.0, 8.0], np.float32))
    assert y.shape == (6, 4) and torch.all(y[:, 2:] == torch.tensor([7.0, 8.0]))


def test_numpy_and_torch_paths_agree() -> None:
    from kaldibridge.functional.deltas import delta_filters
    from kaldibridge.kaldi.features.deltas import kaldi_delta_scales

    for order, window in [(2, 2), (3, 1), (1, 4)]:
        for a, b in zip(kaldi_delta_scales(order, window), delta_filters(order, window)):
            np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(5).normal(size=(33, 7)).astype(np.float32)
    np.testing.assert_allclose(compute_deltas_kaldi(x, delta_order=3, delta_window=1),
                               compute_deltas_kaldi(torch.from_numpy(x), delta_order=3, delta_window=1).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_deltas_options_and_truncate() -> None:
    x = np.random.default_rng(0).normal(size=(20, 6)).astype(np.float32)
    y = compute_deltas_kaldi(x, truncate=4)
    np.testing.assert_array_equal(y, compute_deltas_kaldi(x[:, :4]))
    with pytest.raises(FormatError):
        compute_deltas_kaldi(x, truncate=7)
    with pytest.raises(OptionError):
        compute_deltas_kaldi(x, DeltaFeaturesOptions(delta_window=0))
    t = compute_deltas_kaldi(torch.from_numpy(x))
    assert isinstance(t, torch.Tensor) and t.shape == (20, 18)


@needs_golden
def test_tools_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(GOLDEN)
    out = tmp_path / "o.ark"
    assert load_tool("add-deltas").main(["ark:kaldi/fbank_edge/out.ark", f"ark:{out}"]) == 0
    got, ref = load(out), load(K / "deltas_edge" / "out.ark")
    assert list(got) == list(ref)
    for key in ref:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-6, atol=1e-5)
    assert "Empty feature matrix for key edge-short300" in capsys.readouterr().err
    assert load_tool("subsample-feats").main(["--n=3", "ark:kaldi/fbank_default/out.ark", f"ark:{out}"]) == 0
    assert out.read_bytes() == (K / "subsample_3" / "out.ark").read_bytes()
    assert "Processed 2538 input frames and 848 output frames." in capsys.readouterr().err
    assert load_tool("shift-feats").main(["--shift=-3", "ark:kaldi/fbank_default/out.ark", f"ark:{out}"]) == 0
    assert out.read_bytes() == (K / "shift_feats_neg3" / "out.ark").read_bytes()
    assert load_tool("append-post-to-feats").main(["ark:kaldi/fbank_window_hamming/out.ark",
                                                   "ark,t:kaldi/append_post_to_feats/post.txt", f"ark:{out}"]) == 255
    assert "--post-dim" in capsys.readouterr().err


def _sdc_reference(x: np.ndarray, window: int, blocks: int, shift: int) -> np.ndarray:
    """Shifted deltas frame by frame, from the definition (float64)."""
    n, d = x.shape
    norm = sum(j * j for j in range(-window, window + 1))
    out = np.zeros((n, d * (blocks + 1)))
    out[:, :d] = x
    for t in range(n):
        for i in range(blocks):
            for j in range(-window, window + 1):
                out[t, (i + 1) * d : (i + 2) * d] += j / norm * x[min(max(t + j + i * shift, 0), n - 1)]
    return out


@pytest.mark.parametrize("window,blocks,shift,n", [(1, 7, 3, 40), (2, 3, 1, 5), (1, 0, 3, 4), (1, 2, 0, 3)])
def test_shifted_deltas_match_reference(window: int, blocks: int, shift: int, n: int) -> None:
    from kaldibridge.kaldi.features.deltas import compute_shifted_deltas

    x = np.random.default_rng(n).normal(size=(n, 3)).astype(np.float32)
    got = compute_shifted_deltas(x, delta_window=window, num_blocks=blocks, block_shift=shift)
    np.testing.assert_allclose(got, _sdc_reference(x, window, blocks, shift), rtol=1e-5, atol=1e-5)
    t = compute_shifted_deltas(torch.from_numpy(x), delta_window=window, num_blocks=blocks, block_shift=shift)
    np.testing.assert_array_equal(t.numpy(), got)


@needs_golden
def test_sdc_and_post_to_feats_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(GOLDEN)
    out = tmp_path / "o.ark"
    assert load_tool("add-deltas-sdc").main(["--truncate=7", "ark:kaldi/mfcc_edge/out.ark", f"ark:{out}"]) == 0
    got = load(out)
    mfcc = load(K / "mfcc_edge" / "out.ark")
    assert list(got) == [k for k, v in mfcc.items() if v.shape[0] > 0]
    for k, v in got.items():
        np.testing.assert_allclose(v, _sdc_reference(mfcc[k][:, :7], 1, 7, 3), rtol=1e-5, atol=1e-4)
    post_rs = f"ark,t:{K / 'append_post_to_feats' / 'post.txt'}"
    assert load_tool("post-to-feats").main(["--post-dim=5", post_rs, f"ark:{out}"]) == 0
    posts, feats = load(post_rs, "posterior"), load(out)
    appended = load(K / "append_post_to_feats" / "out.ark")
    for k in posts:  # the posterior columns of append-post-to-feats' golden output
        np.testing.assert_array_equal(feats[k], appended[k][:, -5:])
    assert load_tool("post-to-feats").main(["--post-dim=2", post_rs, f"ark:{out}"]) == 255
    assert "Out-of-bound Posterior element" in capsys.readouterr().err
