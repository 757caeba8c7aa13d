#!/bin/bash
# usage: run.sh FILE [seed...]; writes runs/FILE.seedN.json and prints compact table
f=$1; shift; seeds=${@:-0}
for sd in $seeds; do
  out=runs/$(basename $f .yaml).seed$sd.json
  /work/main/.venv/bin/derivcheck verify $f --format json --seed $sd --workers 1 > $out 2>runs/last.err
  python3 - "$out" "$sd" <<'PY'
import json,sys
d=json.load(open(sys.argv[1]))
for f in d["files"]:
    if f.get("error"): print("INPUT ERROR", f["error"])
    for s in f["steps"]:
        print(f"seed{sys.argv[2]} {s['id']:28s} {s['verdict']:10s} {','.join(s.get('diagnosis') or [])[:40]:40s} {(s.get('message') or '')[:150]}")
PY
done
