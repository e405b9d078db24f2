#!/usr/bin/env bash
# Compiler launcher: runs each compile through ccache (when installed) with paths taken relative to
# the source tree, so clones and worktrees in other folders share one cache. With --werror (the ci
# preset) a compile that printed a warning fails. Warnings become errors here rather than through
# -Werror so the ci and dev builds run the very same compiler command and share cached objects:
# ccache replays a cached compile's warnings, so a hit cannot hide one.
# Usage: compile-launcher.sh SOURCE_DIR [--werror] COMPILER ARGS…
set -u
export CCACHE_BASEDIR="$1" CCACHE_NOHASHDIR=1
shift
werror=0
if [[ "${1:-}" == "--werror" ]]; then werror=1; shift; fi
launch=()
command -v ccache >/dev/null 2>&1 && launch=(ccache)
if (( !werror )); then exec "${launch[@]}" "$@"; fi

log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT
"${launch[@]}" "$@" 2>"$log"
rc=$?
cat "$log" >&2
if (( rc == 0 )) && grep -q 'warning:' "$log"; then
    echo "compile-launcher: warnings are errors in this build" >&2
    # Leave no object behind, so the next build compiles this file again.
    prev=""
    for a in "$@"; do [[ "$prev" == "-o" ]] && rm -f -- "$a"; prev=$a; done
    exit 1
fi
exit "$rc"
