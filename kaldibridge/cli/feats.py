"""compute-fbank-feats, compute-mfcc-feats, compute-spectrogram-feats, compute-plp-feats.

Kaldi: ``src/featbin/compute-{fbank,mfcc,spectrogram,plp}-feats.cc``.

Each tool reads a wave table, computes features per utterance with the library in
:mod:`kaldibridge.kaldi.features` and writes a matrix table (Kaldi or HTK format), with
Kaldi's warnings, ``Done N out of M utterances`` and exit statuses.

Differences (a deliberate superset): wave files Kaldi refuses (8-, 24-, 32-bit and float
PCM, G.711...) are read by :mod:`kaldibridge.kaldi.wave` in int16 scale and get features.
Dither noise comes from a torch generator seeded with 0 (Kaldi uses ``rand()``; its noise is
not reproduced sample for sample).

Threads: like Kaldi's binaries the tools compute on one thread (``torch.set_num_threads(1)``)
unless ``OMP_NUM_THREADS`` is set: per-utterance work is too small for intra-op threads
(measured: 2 threads cost 50% more CPU time for the same output), and parallel jobs
(``nj``) are the way to use more cores.

Environment: ``KALDIBRIDGE_FAST_FFT=1`` swaps the bit-faithful emulation of Kaldi's float32
FFT for ``torch.fft.rfft`` (pocketfft; about 2.5x faster for fbank/MFCC, but spectral regions
far below a frame's total energy then differ from Kaldi's output by up to about 1e-2 in the
log domain, more than the golden tolerance on some frames).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from kaldibridge.cli.framework import Tool, ToolContext
from kaldibridge.errors import KaldiBridgeError, KaldiFatalError
from kaldibridge.kaldi.options import OptionGroup, option

__all__ = [
    "COMPUTE_FBANK_FEATS",
    "COMPUTE_MFCC_FEATS",
    "COMPUTE_SPECTROGRAM_FEATS",
    "COMPUTE_PLP_FEATS",
    "FeatsToolOptions",
    "VtlnToolOptions",
]


@dataclass(frozen=True)
class FeatsToolOptions(OptionGroup):
    """Flags common to the four feature tools (not part of the feature options)."""

    output_format: str = option("kaldi", 'Output format: "kaldi" matrices or "htk" feature files')
    subtract_mean: bool = option(False, "Subtract each utterance's mean feature vector (better done with CMVN)")
    channel: int = option(-1, "Channel to use: -1 expects mono (takes channel 0 of multi-channel data), 0 left, 1 right")
    min_duration: float = option(0.0, "Skip utterances shorter than this many seconds")
    write_utt2dur: str = option("", "Wspecifier for the duration of each utterance in seconds, e.g. 'ark,t:utt2dur'")


@dataclass(frozen=True)
class VtlnToolOptions(OptionGroup):
    """VTLN flags of the fbank, MFCC and PLP tools."""

    vtln_warp: float = option(1.0, "VTLN warp factor for every utterance (ignored with --vtln-map)")
    vtln_map: str = option("", "Rspecifier of per-utterance (or, with --utt2spk, per-speaker) VTLN warp factors")
    utt2spk: str = option("", "Rspecifier mapping utterances to speakers, for a per-speaker --vtln-map")


@dataclass(frozen=True)
class _Family:
    options: str  # "module:Class" of the option group
    computer: str  # "module:Class" of the computer
    htk_kind: Any  # parm kind, or callable(opts) -> kind
    vtln: bool
    utt2spk_rule: str  # "fbank" (error if both given) or "mfcc" (error if utt2spk without map)
    htk_period_from_shift: bool = False  # spectrogram: HTK period from --frame-shift, else 10 ms


def _import(target: str) -> Any:
    import importlib

    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class _WarpLookup:
    """Kaldi's ``RandomAccessBaseFloatReaderMapped``: warp by utterance or via utt2spk."""

    def __init__(self, vtln_map: str, utt2spk: str) -> None:
        from kaldibridge.kaldi.table import RandomAccessTableReader

        self.map = RandomAccessTableReader(vtln_map, "float") if vtln_map else None
        self.spk = RandomAccessTableReader(utt2spk, "token") if (utt2spk and vtln_map) else None

    def get(self, utt: str) -> float | None:
        if self.map is None:
            return None
        key = utt
        if self.spk is not None:
            if utt not in self.spk:
                return None
            key = self.spk[utt]
        if key not in self.map:
            return None
        return float(self.map[key])

    def close(self) -> None:
        for r in (self.map, self.spk):
            if r is not None:
                r.close()


def _run_family(ctx: ToolContext, fam: _Family) -> int:
    """Run one compute-*-feats tool: no autograd, one compute thread unless OMP_NUM_THREADS
    is set (like Kaldi's binaries); both settings are restored afterwards, so calling a tool
    in-process (``kaldibridge.__main__.main``) leaves the caller's torch state alone."""
    import torch

    grad, threads = torch.is_grad_enabled(), torch.get_num_threads()
    torch.set_grad_enabled(False)
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    try:
        return _run_family_body(ctx, fam)
    finally:
        torch.set_grad_enabled(grad)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def _run_family_body(ctx: ToolContext, fam: _Family) -> int:
    import torch

    from kaldibridge.kaldi.features._common import resample_to_config
    from kaldibridge.kaldi.table import SequentialTableReader, TableWriter

    opts_cls = _import(fam.options)
    opts = ctx.opts(opts_cls)
    tool: FeatsToolOptions = ctx.opts(FeatsToolOptions)
    vt: VtlnToolOptions | None = ctx.opts(VtlnToolOptions) if fam.vtln else None
    wav_rspecifier, feats_wspecifier = ctx.args

    computer = _import(fam.computer)(opts, fft="torch" if os.environ.get("KALDIBRIDGE_FAST_FFT") == "1" else "kaldi")
    fo = computer.frame_opts
    if vt is not None:
        if fam.utt2spk_rule == "fbank" and vt.utt2spk != "" and vt.vtln_map != "":
            raise KaldiFatalError("The --utt2spk option is only needed if the --vtln-map option is used.")
        if fam.utt2spk_rule == "mfcc" and vt.utt2spk != "" and vt.vtln_map == "":
            raise KaldiFatalError("The --utt2spk option is only needed if the --vtln-map option is used.")
    warps = _WarpLookup(vt.vtln_map, vt.utt2spk) if vt is not None else None

    reader = SequentialTableReader(wav_rspecifier, "wave")
    if tool.output_format == "kaldi":
        writer = TableWriter(feats_wspecifier, "matrix")
    elif tool.output_format == "htk":
        writer = TableWriter(feats_wspecifier, "htk_matrix")
    else:
        raise KaldiFatalError(f"Invalid output_format string {tool.output_format}")
    dur_writer = TableWriter(tool.write_utt2dur, "double") if tool.write_utt2dur else None
    generator = torch.Generator().manual_seed(0) if fo.dither != 0.0 else None
    htk_kind = fam.htk_kind(opts) if callable(fam.htk_kind) else fam.htk_kind
    htk_period = int(np.float32(fo.frame_shift) * np.float32(10000)) if fam.htk_period_from_shift else 100000

    num_utts = num_success = 0
    try:
        for utt, wave in reader:
            num_utts += 1
            duration = wave.duration
            if duration < np.float32(tool.min_duration):
                ctx.log.warning(f"File: {utt} is too short ({duration:g} sec): producing no output.")
                continue
            num_chan = wave.data.shape[0]
            chan = tool.channel
            if chan == -1:
                chan = 0
                if num_chan != 1:
                    ctx.log.warning(
                        f"Channel not specified but you have data with {num_chan} channels; defaulting to zero"
                    )
            elif chan >= num_chan or chan < 0:
                ctx.log.warning(
                    f"File with id {utt} has {num_chan} channels but you specified channel "
                    f"{tool.channel}, producing no output."
                )
                continue
            warp = 1.0
            if vt is not None:
                if vt.vtln_map:
                    w = warps.get(utt) if warps is not None else None
                    if w is None:
                        ctx.log.warning(f"No vtln-map entry for utterance-id (or speaker-id) {utt}")
                        continue
                    warp = w
                else:
                    warp = vt.vtln_warp
            try:
                samples = torch.from_numpy(np.ascontiguousarray(wave.data[chan], dtype=np.float32))
                samples = resample_to_config(samples, wave.samp_freq, fo)
                feats = computer.compute_utterance(samples, vtln_warp=warp, generator=generator).numpy()
            except (KaldiBridgeError, ValueError, ArithmeticError, RuntimeError) as exc:
                ctx.log.error(str(exc))
                ctx.log.warning(f"Failed to compute features for utterance {utt}")
                continue
            if feats.shape[0] == 0:
                feats = np.zeros((0, 0), dtype=np.float32)
            elif tool.subtract_mean:
                mean = feats.astype(np.float64).sum(axis=0).astype(np.float32) * np.float32(1.0 / feats.shape[0])
                feats = feats - mean
            if tool.output_format == "kaldi":
                writer.write(utt, feats)
            else:
                from kaldibridge.kaldi.table import HtkHeader

                header = HtkHeader(feats.shape[0], htk_period, 4 * feats.shape[1], htk_kind)
                writer.write(utt, (feats, header))
            if dur_writer is not None:
                dur_writer.write(utt, float(duration))
            if num_utts % 10 == 0:
                ctx.log.info(f"Processed {num_utts} utterances")
            ctx.log.vlog(2, f"Processed features for key {utt}")
            num_success += 1
    finally:
        writer.close()
        if dur_writer is not None:
            dur_writer.close()
        if warps is not None:
            warps.close()
    ctx.log.info(f" Done {num_success} out of {num_utts} utterances.")
    return 0 if num_success != 0 else 1


def _fbank_kind(opts: Any) -> int:
    return 0o007 | (0o100 if opts.use_energy else 0o20000)


def _mfcc_kind(opts: Any) -> int:
    return 0o006 | (0o100 if opts.use_energy else 0o20000)


_FBANK = _Family("kaldibridge.kaldi.features.fbank:FbankOptions", "kaldibridge.kaldi.features.fbank:FbankComputer",
                 _fbank_kind, True, "fbank")
_MFCC = _Family("kaldibridge.kaldi.features.mfcc:MfccOptions", "kaldibridge.kaldi.features.mfcc:MfccComputer",
                _mfcc_kind, True, "mfcc")
_SPEC = _Family("kaldibridge.kaldi.features.spectrogram:SpectrogramOptions",
                "kaldibridge.kaldi.features.spectrogram:SpectrogramComputer", 0o20007, False, "", True)
_PLP = _Family("kaldibridge.kaldi.features.plp:PlpOptions", "kaldibridge.kaldi.features.plp:PlpComputer",
               0o013 | 0o20000, True, "fbank")


def _groups(fam: _Family) -> tuple[type[OptionGroup], ...]:
    base: tuple[type[OptionGroup], ...] = (_import(fam.options), FeatsToolOptions)
    return base + ((VtlnToolOptions,) if fam.vtln else ())


def _family_tool(name: str, what: str, fam: _Family) -> Tool:
    """The Tool of one compute-*-feats program (they differ only in name, usage and family)."""
    return Tool(
        name,
        usage=f"Create {what} feature files.\nUsage:  {name} [options...] <wav-rspecifier> <feats-wspecifier>\n",
        run=lambda ctx: _run_family(ctx, fam),
        groups=_groups(fam),
        nargs=(2, 2),
    )


COMPUTE_FBANK_FEATS = _family_tool("compute-fbank-feats", "Mel-filter bank (FBANK)", _FBANK)
COMPUTE_MFCC_FEATS = _family_tool("compute-mfcc-feats", "MFCC", _MFCC)
COMPUTE_SPECTROGRAM_FEATS = _family_tool("compute-spectrogram-feats", "spectrogram", _SPEC)
COMPUTE_PLP_FEATS = _family_tool("compute-plp-feats", "PLP", _PLP)
