#!/usr/bin/env bash
# Installs or verifies what the test suite needs beyond npm: tshark (the dissector oracle),
# tcpdump, iproute2 and iptables (the Linux twin), socat. Debian packages, installed as root.
set -euo pipefail
need=()
command -v tshark   >/dev/null 2>&1 || need+=(tshark)
command -v tcpdump  >/dev/null 2>&1 || need+=(tcpdump)
command -v ip       >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v socat    >/dev/null 2>&1 || need+=(socat)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "kubewire tests need: ${need[*]}. Install them (Debian: apt-get install -y ${need[*]}) and run npm test again." >&2
    exit 1
  fi
  echo "prereqs: installing ${need[*]} from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# tshark refuses to run as root without this answer when installed non-interactively; it only reads files here.
tshark --version >/dev/null 2>&1 || { echo "tshark is installed but does not run: $(tshark --version 2>&1 | head -2)" >&2; exit 1; }
echo "prereqs: tshark $(tshark --version | head -1 | awk '{print $3}'), $(tcpdump --version 2>&1 | head -1), $(ip -V), $(iptables --version)"
