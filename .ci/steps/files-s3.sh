#!/usr/bin/env bash
# The black-box files and blog suites again, on the S3 blob store: SeaweedFS
# from .ci/services/s3.sh (it verifies SigV4 signatures). The test harness
# fills in the endpoint, credentials and a shared bucket when only the
# driver is set (tests/src/app.rs); with CI=true an unreachable server fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== black-box files and blog suites on blob.driver: s3 (SeaweedFS)"
PLATFORM_TEST__BLOB__DRIVER=s3 cargo test -p platform-tests --test files --test blog
