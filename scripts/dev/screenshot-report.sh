#!/usr/bin/env bash
# Renders the HTML report in headless Chromium and saves a screenshot, to check how the page looks.
#   scripts/dev/screenshot-report.sh REPORT.html OUT.png [WIDTH [HEIGHT [SKIP]]]
#   scripts/dev/screenshot-report.sh REPORT.json OUT.png ...   (renders the page from a JSON report first)
# WIDTH x HEIGHT is the window (default 1400 x 3000); SKIP (pixels, default 0) shifts the page up first,
# to look at a part further down (headless Chromium only captures the window).
# Needs Chromium: Debian's `chromium` package (apt-get install -y chromium), or $CHROMIUM.
# Nothing is fetched: the page is self-contained, and Chromium's own network features are turned off.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 REPORT.html|REPORT.json OUT.png [WIDTH [HEIGHT [SKIP]]]" >&2
  exit 2
fi
input=$1
out=$2
width=${3:-1400}
height=${4:-3000}
skip=${5:-0}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

chromium=${CHROMIUM:-}
if [[ -z $chromium ]]; then
  for c in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    if [[ -x $c ]]; then chromium=$c; break; fi
  done
fi
if [[ -z $chromium ]]; then
  echo "$0: Chromium not found; install it (apt-get update && apt-get install -y chromium) or set CHROMIUM" >&2
  exit 2
fi

profile=$(mktemp -d)
tmp_html=
trap 'rm -rf "$profile" ${tmp_html:+"$tmp_html"} ${shifted:+"$shifted"}' EXIT
shifted=

html=$input
if [[ $input == *.json ]]; then
  tmp_html=$(mktemp --suffix=.html)
  node "$here/render-report.js" "$input" "$tmp_html"
  html=$tmp_html
fi
[[ -f $html ]] || { echo "$0: $html does not exist" >&2; exit 2; }
if [[ $skip != 0 ]]; then
  [[ $skip =~ ^[0-9]+$ ]] || { echo "$0: SKIP must be a number of pixels" >&2; exit 2; }
  shifted=$(mktemp --suffix=.html)
  { cat "$html"; printf '<style>body{margin-top:-%spx !important}</style>\n' "$skip"; } >"$shifted"
  html=$shifted
fi
html=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

flags=(--headless --disable-gpu --disable-quic --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile"
  --screenshot="$out" --window-size="$width,$height")
# Chromium refuses to run as root without --no-sandbox.
if [[ $(id -u) -eq 0 ]]; then flags+=(--no-sandbox); fi

timeout 120 "$chromium" "${flags[@]}" "file://$html" >/dev/null 2>&1 || {
  status=$?
  [[ -s $out ]] || { echo "$0: chromium failed (exit $status) and wrote no screenshot" >&2; exit 1; }
}
[[ -s $out ]] || { echo "$0: no screenshot was written" >&2; exit 1; }
echo "$out"
