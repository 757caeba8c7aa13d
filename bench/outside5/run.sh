#!/bin/sh
# run derivcheck on one file at seeds 0-3, one at a time
cd /work/main
f=$1; b=$(basename $f .yaml)
for s in 0 1 2 3; do
  timeout 900 .venv/bin/derivcheck verify bench/outside5/$b.yaml --seed $s --format json -o bench/outside5/runs/$b.s$s.json > bench/outside5/runs/$b.s$s.stdout 2> bench/outside5/runs/$b.s$s.stderr
  echo "$b seed $s rc=$?"
done
