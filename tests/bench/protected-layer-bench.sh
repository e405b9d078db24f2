#!/bin/sh
# The protection layer's cost: a file-heavy workload (2000 files in 40 folders written, listed, read,
# committed with git and removed) run directly on a folder and through airlock-protectfs over a copy.
#   tests/bench/protected-layer-bench.sh build/dev/app/airlock-protectfs/airlock-protectfs [rounds]
# Prints the seconds of each round; a report, not a test.
set -eu
protectfs=$(realpath "$1")
rounds=${2:-3}
dir=$(mktemp -d)
trap 'umount -l "$dir/mnt" 2>/dev/null || fusermount3 -uz "$dir/mnt" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir "$dir/direct" "$dir/layered" "$dir/mnt"
git -C "$dir/direct" init -q
git -C "$dir/layered" init -q
"$protectfs" --daemon "$dir/layered" "$dir/mnt" >/dev/null

work() {
    cd "$1"
    for d in $(seq 1 40); do
        mkdir -p "src/d$d"
        for f in $(seq 1 50); do echo "line $d $f" > "src/d$d/f$f.txt"; done
    done
    find . -path ./.git -prune -o -type f -print | wc -l >/dev/null
    cat src/*/*.txt >/dev/null
    git add -A && git -c user.name=bench -c user.email=bench@example.com commit -q --allow-empty -m round
    rm -rf src
    cd - >/dev/null
}

seconds() {
    start=$(date +%s.%N)
    work "$1"
    end=$(date +%s.%N)
    awk "BEGIN { printf \"%.2f\", $end - $start }"
}

for r in $(seq 1 "$rounds"); do
    echo "round $r: direct $(seconds "$dir/direct") s, through the layer $(seconds "$dir/mnt") s"
done
