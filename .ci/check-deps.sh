#!/usr/bin/env bash
# The hexagon's rules, checked:
# 1. ports and core never reach an I/O crate, directly or transitively, nor
#    tokio's networking;
# 2. between our crates: an adapter (every workspace crate under adapters/,
#    read from `cargo metadata`) depends on no other adapter, nor on core or
#    application, as a normal or build dependency; its dev-dependencies among
#    our crates are only platform-ports (its mocks) and platform-contract;
#    ports, core and application depend on no adapter at all.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for pkg in platform-ports platform-core; do
  bad=$(cargo tree -p "$pkg" -e normal --prefix none 2>/dev/null | awk '{print $1}' | sort -u |
        grep -Ex 'axum|hyper|sqlx|sqlx-core|redis|deadpool-redis|rdkafka|lettre|rust-s3|reqwest|aws-sdk-s3|mio|socket2' || true)
  if [ -n "$bad" ]; then
    echo "check-deps: $pkg depends on I/O crates: $bad" >&2
    status=1
  fi
  if cargo tree -p "$pkg" -e features -i tokio --prefix none 2>/dev/null | grep -q 'tokio feature "net"'; then
    echo "check-deps: $pkg enables tokio's net feature" >&2
    status=1
  fi
done
[ $status = 0 ] && echo "check-deps: ports and core are free of I/O crates"

check_edges=$(cat <<'PY'
import json, os, sys

meta = json.load(sys.stdin)
adapters_dir = os.path.join(meta["workspace_root"], "adapters") + os.sep
ours = {p["name"]: p for p in meta["packages"]}
adapters = {n for n, p in ours.items() if p["manifest_path"].startswith(adapters_dir)}
inner = {"platform-ports", "platform-core", "platform-application"}
dev_allowed = {"platform-ports", "platform-contract"}
if not adapters:
    sys.exit("check-deps: no crate found under adapters/: has the layout changed?")

errors = []
for name, pkg in sorted(ours.items()):
    for dep in pkg["dependencies"]:
        target, kind = dep["name"], dep["kind"] or "normal"
        if target not in ours:
            continue
        if name in adapters:
            if kind == "dev":
                if target not in dev_allowed:
                    errors.append(f"{name} has a dev-dependency on {target}: "
                                  f"an adapter's tests use only {', '.join(sorted(dev_allowed))}")
            elif target in adapters or target in ("platform-core", "platform-application"):
                errors.append(f"{name} depends on {target} ({kind}): an adapter depends on "
                              "platform-ports and its own technology only (combine adapters in "
                              "bootstrap, or write the combination once against the port)")
        elif name in inner and target in adapters:
            errors.append(f"{name} depends on the adapter {target} ({kind}): "
                          "ports, core and application never see an adapter")

for error in errors:
    print(f"check-deps: {error}", file=sys.stderr)
if errors:
    sys.exit(1)
print(f"check-deps: the {len(adapters)} adapters stand alone: {', '.join(sorted(adapters))}")
PY
)
cargo metadata --no-deps --format-version 1 | python3 -c "$check_edges" || status=1
exit $status
