#!/bin/sh
# Runs every case in tests/cases.txt (input|expected) through slugify; exits 1 if any fails.
cd "$(dirname "$0")/.." || exit 2
. ./slugify.sh
passed=0
failed=0
while IFS='|' read -r input expected; do
    [ -n "$input" ] || continue
    got=$(slugify "$input")
    if [ "$got" = "$expected" ]; then
        passed=$((passed + 1))
        printf 'ok    %s\n' "$input"
    else
        failed=$((failed + 1))
        printf 'FAIL  %s: got "%s", expected "%s"\n' "$input" "$got" "$expected"
    fi
done < tests/cases.txt
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
