#!/usr/bin/env bash
# The fer clean ablation: the same short recipe trained with and without each kind of
# flagged face, scored on the set's own validation split (FER-2013: PublicTest).
#
#   examples/clean_ablation.sh MARKED.h5 OUT_DIR [LIMIT] [EPOCHS]
#
# MARKED.h5 is a set fer clean marked (e.g. fer clean fer64.h5 -o marked.h5 -m default
# --folds 5). Each run trains from scratch on LIMIT seeded training faces (8000) for EPOCHS
# (3) with the short-budget recipe of docs/models.md, then fer eval writes its report with
# bootstrap intervals; OUT_DIR/ablation.md collects them.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 MARKED.h5 OUT_DIR [LIMIT] [EPOCHS]" >&2
    exit 2
fi
marked=$1 out=$2 limit=${3:-8000} epochs=${4:-3}
FER=${FER:-fer}
mkdir -p "$out"
recipe=(--limit "$limit" --epochs "$epochs" --scheduler onecycle --lr 2e-3 --hard-labels
        --balanced-sampler --rotate 0 --translate 0 --scale 0 --no-flip --erasing 0)
reports=()
for skip in none outlier near_duplicate label_error all; do
    flags=()
    [ "$skip" != none ] && flags=(--skip-flagged "$skip")
    "$FER" -q train "$marked" -o "$out/$skip.pt" "${recipe[@]}" "${flags[@]}"
    "$FER" -q eval -m "$out/$skip.pt" "$marked" -o "$out/$skip.json"
    reports+=("$out/$skip.json")
done
python -m fercli.evaluate.collect "${reports[@]}" --md "$out/ablation.md"
cat "$out/ablation.md"
