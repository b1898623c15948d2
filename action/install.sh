#!/usr/bin/env bash
# Step 1 of action.yml: makes the stacklock CLI available and says where (step output `bin`).
# It is always the action's own checkout (the ref the workflow names in `uses:`), built here:
# never a package fetched by name from a registry, where whoever claims the name would run code
# in every workflow using the action. npm ci runs the package's prepare script, which compiles it.
set -euo pipefail
if ! command -v node >/dev/null 2>&1; then
  echo "::error title=stacklock::Node.js 20 or later is needed on the runner (actions/setup-node)"
  exit 1
fi
(cd "$ACTION_PATH" && npm ci --no-audit --no-fund >&2)
bin="$ACTION_PATH/bin/stacklock.js"
node "$bin" --version >&2
echo "bin=$bin" >> "$GITHUB_OUTPUT"
