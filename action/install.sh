#!/usr/bin/env bash
# Step 1 of action.yml: makes the stacklock CLI available and says where (step output `bin`).
# With STACKLOCK_VERSION, installs that version from the npm registry; otherwise builds the
# action's own checkout (npm ci runs the package's prepare script, which compiles it).
set -euo pipefail
if ! command -v node >/dev/null 2>&1; then
  echo "::error title=stacklock::Node.js 20 or later is needed on the runner (actions/setup-node)"
  exit 1
fi
if [ -n "${STACKLOCK_VERSION:-}" ]; then
  npm install --global --no-audit --no-fund "stacklock@${STACKLOCK_VERSION}" >&2
  bin="$(npm root --global)/stacklock/bin/stacklock.js"
else
  (cd "$ACTION_PATH" && npm ci --no-audit --no-fund >&2)
  bin="$ACTION_PATH/bin/stacklock.js"
fi
node "$bin" --version >&2
echo "bin=$bin" >> "$GITHUB_OUTPUT"
