#!/bin/bash
# usage: seeds.sh FILE : runs seeds 0-7, prints per step the verdicts per seed
f=$1
for sd in 0 1 2 3 4 5 6 7; do
  /work/main/.venv/bin/derivcheck verify $f --format json --seed $sd --workers 1 > runs/$(basename $f .yaml).seed$sd.json 2>>runs/last.err
done
python3 - $f <<'PY'
import json,sys,os
f=sys.argv[1]; b=os.path.basename(f)[:-5]
res={}
for sd in range(8):
    d=json.load(open(f"runs/{b}.seed{sd}.json"))
    for fl in d["files"]:
        if fl.get("error"): print("INPUT ERROR", fl["error"]); continue
        for s in fl["steps"]:
            res.setdefault(s["id"],[]).append(s["verdict"][:4]+("("+",".join(s.get("diagnosis") or [])+")" if s["verdict"]=="refuted" else ""))
for k,v in res.items(): print(f"{b}:{k:26s}", " ".join(f"{i}:{x}" for i,x in enumerate(v)))
PY
