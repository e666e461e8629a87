#!/usr/bin/env bash
# Install the Debian packages llmseal's demo and tests use (real components, no mocks):
#   bind9 + utils (DNSSEC), softhsm2 + opensc (PKCS#11), postgresql (receipt store, evidence and log for
#   many gateway replicas), nginx (the load balancer in front of them),
#   wrk (gateway load benchmark), golang-go + golang-golang-x-mod-dev (the Go sumdb tlog/note
#   peer that checks our transparency log), curl + jq (the docs' commands, run by tests/docs),
#   chromium (the JS verifier's browser tests, driven by Playwright with
#   executable_path=/usr/bin/chromium; never `playwright install`), nodejs (the JS verifier's
#   own tests). Runs apt-get only when something is missing.
set -euo pipefail
packages=(bind9 bind9-utils bind9-dnsutils softhsm2 opensc postgresql nginx wrk golang-go
          golang-golang-x-mod-dev curl jq chromium nodejs)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing (${missing[*]}); run as root or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
