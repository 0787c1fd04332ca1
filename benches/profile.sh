#!/usr/bin/env bash
# Instructions (callgrind) or system calls (strace -f -c) per handshake, one side at a time,
# with the peer in its own process at native speed (see benches/src/profile.rs).
#
#   benches/profile.sh callgrind|strace BIN BACKEND DRIVER raw|ours server|client N1 N2 [--resumed]
#
# Runs the measured side twice, with N1 and N2 handshakes, and prints
# (count(N2) - count(N1)) / (N2 - N1): start-up, the PKI and the priming handshake cancel out.
# The callgrind output files stay in $PROFILE_OUT (default target/profile-out) for
# callgrind_annotate.
set -euo pipefail
tool=$1 bin=$2 backend=$3 driver=$4 side=$5 role=$6 n1=$7 n2=$8
shift 8
extra=("$@")
out=${PROFILE_OUT:-target/profile-out}
mkdir -p "$out"
tag="$backend-$driver-$side-$role${extra[*]:+-resumed}"

measure() { # N -> count
    local n=$1 dir file
    dir=$(mktemp -d)
    file="$out/$tag-$n.$tool"
    local common=(profile --side "$side" --backend "$backend" --driver "$driver" --dir "$dir")
    local client=("$bin" "${common[@]}" --role client --handshakes "$n" "${extra[@]}")
    local server=("$bin" "${common[@]}" --role server)
    local wrap
    if [ "$tool" = callgrind ]; then
        wrap=(valgrind --tool=callgrind --callgrind-out-file="$file" -q)
    else
        wrap=(strace -f -c -o "$file")
    fi
    if [ "$role" = server ]; then
        "${wrap[@]}" "${server[@]}" & local pid=$!
        "${client[@]}" >/dev/null
        wait $pid
    else
        "${server[@]}" & local pid=$!
        "${wrap[@]}" "${client[@]}" >/dev/null
        wait $pid
    fi
    rm -rf "$dir"
    if [ "$tool" = callgrind ]; then
        awk '/^(summary|totals):/ { print $2; exit }' "$file"
    else
        awk '$NF == "total" { print $4 }' "$file"
    fi
}

c1=$(measure "$n1")
c2=$(measure "$n2")
echo "$tag $tool N=$n1:$c1 N=$n2:$c2 per-handshake: $(( (c2 - c1) / (n2 - n1) ))"
