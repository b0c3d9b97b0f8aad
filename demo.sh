#!/usr/bin/env bash
# The kdx demo, on a fresh Debian 12 machine with the .NET 10 SDK: installs what the lab needs,
# boots Debian's kernel under QEMU, crashes it for real, captures the dump with a real kdump
# kernel whose core collector is kdx itself (a NativeAOT "kdx capture -l -d 31" inside the
# capture kernel), and runs kdx's analysis and triage on the dump.
set -euo pipefail
cd "$(dirname "$0")"
bash lab/install-deps.sh
dotnet build lab/Kdx.Lab -c Release -nologo -v q
dotnet publish src/Kdx.Cli -c Release -nologo -v q -p:KdxAot=true -o artifacts/kdx
lab() { dotnet lab/Kdx.Lab/bin/Release/net10.0/kdx-lab.dll "$@"; }

echo "== crashing Debian's kernel in QEMU (sysrq) and capturing it with kdump + kdx capture"
dir=$(lab build --crash sysrq --capture kdump-kdx:-l,-d,31 --file "$PWD/artifacts/kdx/kdx:kdx" | head -1)
dump="$dir/kdump-kdx-l-d31.vmcore"
echo "dump: $dump"
grep -m1 "Kernel panic - not syncing" "$dir/console.log" || true

kdx=artifacts/kdx/kdx
help=$("$kdx" --help)
has() { grep -qE "^  $1( |$)" <<< "$help"; }   # commands land over time; show the ones kdx has
run() { echo; echo "== kdx $*" | sed "s#$dir/##"; "$kdx" "$@"; }
has info   && run info "$dump"
has sys    && run sys "$dump"
has log    && { run log "$dump" | tail -25; }
has ps     && { run ps "$dump" | head -40; }
has mod    && run mod "$dump"
has bt     && run bt "$dump"
has sym    && run sym "$dump" sysrq_handle_crash
has triage && run triage "$dump"
exit 0
