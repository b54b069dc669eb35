#!/usr/bin/env bash
# Evaluate several checkpoints on several face sets and collect one table.
#
#   examples/eval_matrix.sh OUT_DIR "MODEL.pt ..." SET.h5 ...
#
# For each set: OUT_DIR/<set>.json and .html (the models side by side plus their ensemble);
# then OUT_DIR/summary.csv and summary.md with one row per (set, model).
# Extra `fer eval` options go in $EVAL_OPTS (e.g. EVAL_OPTS="--tta flip --split test").
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 OUT_DIR \"MODEL.pt ...\" SET.h5 ..." >&2
    exit 2
fi
out=$1
read -r -a models <<< "$2"
shift 2
FER=${FER:-fer}
PYTHON=${PYTHON:-python}
ensemble=()
[ ${#models[@]} -gt 1 ] && ensemble=(--ensemble)
mkdir -p "$out"
reports=()
for set in "$@"; do
    name=$(basename "${set%.*}")
    # shellcheck disable=SC2086
    "$FER" -q eval "${models[@]}" "$set" "${ensemble[@]}" ${EVAL_OPTS:-} \
        -o "$out/$name.json" -o "$out/$name.html"
    reports+=("$out/$name.json")
done
"$PYTHON" -m fercli.evaluate.collect "${reports[@]}" --csv "$out/summary.csv" --md "$out/summary.md"
echo "table: $out/summary.md ($out/summary.csv); reports: $out/*.html"
