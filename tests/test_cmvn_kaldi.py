"""kaldibridge.kaldi.features.cmvn and the CMVN tools against Kaldi's golden outputs."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from kaldibridge.errors import FormatError, OptionError
from kaldibridge.kaldi.features.cmvn import (
    SlidingWindowCmnOptions,
    apply_cmvn,
    apply_cmvn_sliding,
    cmvn_stats_to_mean_var,
    compute_cmvn_stats,
    fake_stats_for_some_dims,
    parse_skip_dims,
)
from kaldibridge.kaldi.table import SequentialTableReader, read_object

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
K = GOLDEN / "kaldi"
needs_golden = pytest.mark.skipif(not (K / "manifest.json").exists(), reason="golden data not present")


def load(path: str | Path, holder: str = "matrix") -> dict:
    return dict(SequentialTableReader(f"ark:{path}", holder))


@pytest.fixture(scope="module")
def fbank() -> dict:
    return load(K / "fbank_default" / "out.ark")


@pytest.fixture(scope="module")
def utt_stats() -> dict:
    return load(K / "cmvn_stats_utt" / "cmvn.ark", "double_matrix")


@needs_golden
def test_stats_per_utterance_and_global(fbank: dict, utt_stats: dict) -> None:
    for key, feats in fbank.items():
        s = compute_cmvn_stats(feats)
        assert s.dtype == np.float64 and s.shape == (2, feats.shape[1] + 1)
        np.testing.assert_allclose(s, utt_stats[key], rtol=1e-12)
    total = sum(compute_cmvn_stats(f) for f in fbank.values())
    glob = read_object(str(K / "cmvn_stats_global" / "global_cmvn.mat"))
    np.testing.assert_allclose(total.astype(np.float32), glob, rtol=1e-6)


@needs_golden
def test_stats_per_speaker(fbank: dict) -> None:
    spk = load(K / "cmvn_stats_spk" / "cmvn.ark", "double_matrix")
    spk2utt = dict(SequentialTableReader(f"ark:{K / 'cmvn_stats_spk' / 'spk2utt'}", "token_vector"))
    for s, utts in spk2utt.items():
        np.testing.assert_allclose(sum(compute_cmvn_stats(fbank[u]) for u in utts), spk[s], rtol=1e-12)


@needs_golden
@pytest.mark.parametrize("case,norm_vars,skip", [
    ("apply_cmvn_utt_means", False, ""), ("apply_cmvn_utt_vars", True, ""), ("apply_cmvn_skip_dims", True, "0:1:2"),
])
def test_apply_cmvn_golden(fbank: dict, utt_stats: dict, case: str, norm_vars: bool, skip: str) -> None:
    ref = load(K / case / "out.ark")
    for key, feats in fbank.items():
        stats = fake_stats_for_some_dims(utt_stats[key], parse_skip_dims(skip))
        np.testing.assert_allclose(apply_cmvn(feats, stats, norm_vars), ref[key], rtol=1e-5, atol=1e-5)


@needs_golden
def test_apply_cmvn_global_and_edge(fbank: dict) -> None:
    glob = read_object(str(K / "cmvn_stats_global" / "global_cmvn.mat"), "double_matrix")
    ref = load(K / "apply_cmvn_global" / "out.ark")
    for key, feats in fbank.items():
        np.testing.assert_allclose(apply_cmvn(feats, glob, True), ref[key], rtol=1e-4, atol=1e-4)
    edge = load(K / "fbank_edge_snip_false" / "out.ark")
    stats = load(K / "cmvn_stats_edge_nosnip" / "cmvn.ark", "double_matrix")
    ref = load(K / "apply_cmvn_edge_vars" / "out.ark")
    for key, feats in edge.items():
        np.testing.assert_allclose(apply_cmvn(feats, stats[key], True), ref[key], rtol=1e-5, atol=1e-5)


@needs_golden
@pytest.mark.parametrize("case,kw", [
    ("cmvn_sliding_default", {}), ("cmvn_sliding_center300", {"center": True, "cmn_window": 300}),
    ("cmvn_sliding_norm_vars", {"norm_vars": True}),
])
def test_sliding_golden(fbank: dict, case: str, kw: dict) -> None:
    ref = load(K / case / "out.ark")
    for key, feats in fbank.items():
        np.testing.assert_allclose(apply_cmvn_sliding(feats, **kw), ref[key], rtol=1e-5, atol=1e-5)


@needs_golden
def test_sliding_edge_warnings(caplog: pytest.LogCaptureFixture) -> None:
    edge = load(K / "fbank_edge" / "out.ark")
    ref = load(K / "cmvn_sliding_edge" / "out.ark")
    with caplog.at_level(logging.WARNING, logger="kaldibridge"):
        out = apply_cmvn_sliding(edge["silence-001"], norm_vars=True, center=True)
    np.testing.assert_allclose(out, ref["silence-001"], atol=1e-5)
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs[:5] == ["Flooring when normalizing variance, floored 23 elements; num-frames was 98"] * 5
    assert msgs[5].startswith("Suppressing the remaining variance flooring warnings")
    assert len(msgs) == 6
    with pytest.raises(FormatError):
        apply_cmvn_sliding(edge["edge-short300"])


@needs_golden
def test_modify_golden(utt_stats: dict) -> None:
    fake = load(K / "modify_cmvn_stats" / "cmvn.ark", "double_matrix")
    mv = load(K / "modify_cmvn_stats_meanvar" / "cmvn.ark", "double_matrix")
    for key, s in utt_stats.items():
        np.testing.assert_array_equal(fake_stats_for_some_dims(s, [0, 1, 2]), fake[key])
        np.testing.assert_allclose(cmvn_stats_to_mean_var(s), mv[key], rtol=1e-12)


def test_closed_forms_and_reverse() -> None:
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(200, 3)) * [1.0, 2.0, 0.5] + [3.0, -1.0, 0.0]).astype(np.float32)
    s = compute_cmvn_stats(x)
    assert s[0, 3] == 200 and s[1, 3] == 0
    y = apply_cmvn(x, s, norm_vars=True)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, atol=1e-4)
    np.testing.assert_allclose(apply_cmvn(y, s, norm_vars=True, reverse=True), x, atol=1e-4)
    np.testing.assert_allclose(apply_cmvn(apply_cmvn(x, s), s, reverse=True), x, atol=1e-5)
    # weights: a zero weight removes a frame
    w = np.ones(200, np.float32)
    w[:50] = 0
    np.testing.assert_allclose(compute_cmvn_stats(x, w), compute_cmvn_stats(x[50:]), rtol=1e-12)


def test_batched_torch_equals_loop() -> None:
    x = torch.randn(4, 30, 5)
    stats = compute_cmvn_stats(x)
    assert isinstance(stats, torch.Tensor) and stats.shape == (4, 2, 6)
    y = apply_cmvn(x, stats, norm_vars=True)
    for b in range(4):
        torch.testing.assert_close(stats[b], compute_cmvn_stats(x[b]))
        torch.testing.assert_close(y[b], apply_cmvn(x[b], stats[b], norm_vars=True))


def test_errors() -> None:
    x = np.ones((5, 3), np.float32)
    s = compute_cmvn_stats(x)
    with pytest.raises(FormatError, match="Dim mismatch"):
        apply_cmvn(np.ones((5, 4), np.float32), s)
    with pytest.raises(FormatError, match="no variance stats"):
        apply_cmvn(x, s[:1], norm_vars=True)
    zero = np.zeros_like(s)
    with pytest.raises(FormatError, match="Insufficient stats"):
        apply_cmvn(x, zero)
    with pytest.raises(FormatError):
        compute_cmvn_stats(np.zeros((0, 0), np.float32))
    with pytest.raises(OptionError):
        fake_stats_for_some_dims(s, [3])
    with pytest.raises(OptionError):
        parse_skip_dims("1:x")
    with pytest.raises(OptionError):
        SlidingWindowCmnOptions(cmn_window=0).validate()


def test_variance_floor_warns(caplog: pytest.LogCaptureFixture) -> None:
    x = np.full((10, 2), 3.0, np.float32)
    s = compute_cmvn_stats(x)
    s[1, :2] = s[0, :2] ** 2 / 10  # exactly zero variance
    with caplog.at_level(logging.WARNING, logger="kaldibridge"):
        y = apply_cmvn(x, s, norm_vars=True)
    assert np.all(y == 0)
    assert any("Flooring cepstral variance" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("kw", [{}, {"norm_vars": True}, {"center": True, "cmn_window": 50, "min_cmn_window": 20, "norm_vars": True},
                                {"cmn_window": 30, "min_cmn_window": 10}])
def test_numpy_and_torch_paths_agree(kw: dict) -> None:
    rng = np.random.default_rng(11)
    x = (rng.normal(size=(123, 6)) * 2 + 5).astype(np.float32)
    x[:, 2] = 1.0  # a constant column: variance flooring on both paths
    np.testing.assert_allclose(apply_cmvn_sliding(x, **kw), apply_cmvn_sliding(torch.from_numpy(x), **kw).numpy(),
                               rtol=1e-5, atol=1e-5)
    s = compute_cmvn_stats(x[:, [0, 1, 3, 4, 5]])
    y = x[:, [0, 1, 3, 4, 5]]
    np.testing.assert_array_equal(s, compute_cmvn_stats(torch.from_numpy(y)).numpy())
    for nv in (False, True):
        for rev in (False, True):
            np.testing.assert_allclose(apply_cmvn(y, s, nv, reverse=rev),
                                       apply_cmvn(torch.from_numpy(y), torch.from_numpy(s), nv, reverse=rev).numpy(),
                                       rtol=1e-6, atol=1e-6)
