#!/usr/bin/env bash
# Import the public FER datasets you have downloaded into face sets, then summarise them.
# Usage: examples/import_datasets.sh DATA_DIR OUT_DIR   (skips datasets that are not there)
set -euo pipefail
data=${1:?DATA_DIR}; out=${2:?OUT_DIR}; mkdir -p "$out"

[ -f "$data/fer2013/fer2013.csv.gz" ] && fer import "$data/fer2013/fer2013.csv.gz" \
    --ferplus "$data/fer2013/fer2013new.csv" -o "$out/fer2013.h5"
[ -d "$data/raf-db" ]    && fer import "$data/raf-db" -o "$out/rafdb.h5" --size 64
[ -d "$data/affectnet" ] && fer import "$data/affectnet" -o "$out/affectnet.h5" --size 64
[ -d "$data/CK+" ]       && fer import "$data/CK+" -o "$out/ckplus.h5" --size 64

# One JSON line per set, e.g. for a spreadsheet: path, faces, per-split totals.
for set in "$out"/*.h5; do
    fer info "$set" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); \
print(json.dumps({"set": d["path"], "faces": d["faces"], \
"splits": {s: sum(c.values()) for s, c in d["counts"].items()}}))'
done
