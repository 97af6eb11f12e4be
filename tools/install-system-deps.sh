#!/usr/bin/env bash
# Install the Debian packages that `make test` and `make demo` need, if missing.
#   mosquitto        - the MQTT broker every test and the demo talk to
#   libzbar0         - QR decoding (pyzbar); OpenCV is the fallback without it
#   postgresql       - initdb/pg_ctl for the throwaway test cluster
#   victoria-metrics - accepts InfluxDB's /api/v2/write for the time-series tests
#   chromium, chromium-driver - the headless browser of the dashboard tests (Playwright)
# Usage: tools/install-system-deps.sh [package...]   (default: all of the above)
set -euo pipefail

packages=("$@")
if [ ${#packages[@]} -eq 0 ]; then
  packages=(mosquitto libzbar0 postgresql victoria-metrics chromium chromium-driver)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Packages start no services here: the tests start private instances themselves.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
