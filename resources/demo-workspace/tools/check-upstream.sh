#!/bin/sh
# check-upstream.sh URL: can this machine reach URL? Exits 0 if it can, 1 if it cannot.
url=${1:-https://example.com/}
if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 5 -o /dev/null "$url" && exit 0
    exit 1
fi
if command -v wget >/dev/null 2>&1; then
    wget -q -T 5 -O /dev/null "$url" && exit 0
    exit 1
fi
# Neither tool: try a bare TCP connection (bash only), to port 80 of the URL's host.
host=$(printf '%s' "$url" | sed -e 's#^[A-Za-z]*://##' -e 's#[/:?].*##' | tr -cd 'A-Za-z0-9.-')
if [ -n "$host" ] && command -v bash >/dev/null 2>&1; then
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/80"' sh "$host" 2>/dev/null && exit 0
    exit 1
fi
echo "no curl, wget or bash to try with" >&2
exit 1
