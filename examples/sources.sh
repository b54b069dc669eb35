#!/usr/bin/env bash
# Build the training set of fer's default model from the downloads, with fer's own commands
# only: FER-2013 (48x48, upscaled to 64x64), RAF-DB's training half and, when given,
# AffectNet's training split (both aligned onto fer align's template in gray: ArcFace's
# framing, zoom 1.0, which trained better than 0.85, 0.75 and RGB; docs/models.md), each
# with a validation split, merged into one set whose sources `fer train` reports one by one
# every epoch.
#
#   examples/sources.sh FER2013_DIR RAFDB_DIR OUT_DIR [AFFECTNET_DIR]
#
# FER2013_DIR holds fer2013.csv.gz (+ fer2013new.csv, the FER+ votes); RAFDB_DIR is RAF-DB
# as downloaded (Kaggle layout DATASET/, or the official basic/ folder; one half is enough);
# AFFECTNET_DIR is AffectNet in the YOLO layout (data.yaml, train/images, train/labels).
# Writes OUT_DIR/fer64.h5, raf64.h5 (and affectnet64.h5) and joint.h5 (train with: fer train
# OUT_DIR/joint.h5), keeping the steps before them (fer48.h5, raf100.h5, affectnet96.h5: the
# photo sources in colour at their own size).
# Neutral faces are kept, unlabelled for the six classes and marked in the `neutral` field:
# fer train --neutral-gate learns the "none of the six" gate from them; nothing else uses them.
# With MSDA=1 it also writes msda.h5: the sources ranked and staged towards RAF-DB (fer merge
# --target), for fer train's curriculum. All three datasets are for non-commercial research
# only, and so is a model trained on them.
set -euo pipefail
if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    echo "usage: $0 FER2013_DIR RAFDB_DIR OUT_DIR [AFFECTNET_DIR]" >&2
    exit 2
fi
fer_dir=$1 raf_dir=$2 out=$3 affectnet_dir=${4:-}
FER=${FER:-fer}
mkdir -p "$out"

# FER-2013: its own splits (Training / PublicTest = val / PrivateTest = test), FER+ votes
# attached as soft labels; 48 -> 64 px so both sources share the model's input size.
ferplus=()
[ -f "$fer_dir/fer2013new.csv" ] && ferplus=(--ferplus "$fer_dir/fer2013new.csv")
"$FER" import "$fer_dir/fer2013.csv.gz" "${ferplus[@]}" --keep-unmapped -o "$out/fer48.h5"
"$FER" upscale "$out/fer48.h5" --method lanczos -o "$out/fer64.h5"

# RAF-DB: 100x100 RGB crops; 15% of its training half becomes a stratified val split
# (seed 0), then every face is detected on its crop and aligned onto the template, in gray.
"$FER" import "$raf_dir" --val-split 0.15 --keep-unmapped -o "$out/raf100.h5"
"$FER" align "$out/raf100.h5" --fallback detect --color gray -o "$out/raf64.h5"

sources=("$out/fer64.h5" "$out/raf64.h5")

# AffectNet: 96x96 RGB, loosely cropped (hair, background, hands); 15% of its training split
# becomes a stratified val split (seed 0), then each face is detected and aligned as RAF-DB's.
if [ -n "$affectnet_dir" ]; then
    "$FER" import "$affectnet_dir" --size 96 --val-split 0.15 --keep-unmapped -o "$out/affectnet96.h5"
    "$FER" align "$out/affectnet96.h5" --fallback detect --color gray -o "$out/affectnet64.h5"
    sources+=("$out/affectnet64.h5")
fi

# One set: a domain per source, pixel-identical faces removed, leakage reported.
"$FER" merge "${sources[@]}" -o "$out/joint.h5"
if [ "${MSDA:-0}" = 1 ]; then
    "$FER" merge "${sources[@]}" --target "$out/raf64.h5" -o "$out/msda.h5"
fi
