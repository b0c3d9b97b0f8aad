#!/usr/bin/env bash
# Runs the whole kdx test suite. Works on a fresh Debian 12 machine with the .NET 10 SDK:
# installs the lab's Debian packages, restores NuGet packages, builds, and runs every test
# (the lab tests build real crash dumps under QEMU on demand and cache them).
set -euo pipefail
cd "$(dirname "$0")"
bash lab/install-deps.sh
dotnet build kdx.slnx -c Release -nologo -v q
log=$(mktemp)
set +e
dotnet test kdx.slnx -c Release --no-build -nologo -v q -- RunConfiguration.DisableParallelization=false 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# One closing line for CI: the sum over every test assembly.
awk '/^(Passed|Failed)!/ { for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' FS='[ ,]+' "$log"
rm -f "$log"
exit "$rc"
