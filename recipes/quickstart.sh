#!/usr/bin/env bash
# Quick start: compute 80-bin fbank features for the sample Kaldi data dir in data/train,
# exactly as Kaldi's steps/make_fbank.sh would with compute-fbank-feats, and show the result.
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/quickstart
mkdir -p "$out"
compute-fbank-feats --config=data/conf/fbank.conf \
    scp:data/train/wav.scp ark,scp:$out/feats.ark,$out/feats.scp
echo "== $out/feats.scp"
cat "$out/feats.scp"
echo "== frames per utterance (feat-to-len)"
feat-to-len scp:$out/feats.scp ark,t:-
echo "== feature dimension (feat-to-dim)"
feat-to-dim scp:$out/feats.scp -
