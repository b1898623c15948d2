#!/usr/bin/env bash
# Step 2 of action.yml: `stacklock run` with the action's inputs. The inputs arrive as
# environment variables, never pasted into this script, so no input can inject shell code; the
# command input is run by bash -c as the workflow's own `run:` steps are.
set -euo pipefail
: "${STACKLOCK_BIN:?no stacklock CLI (the set-up step did not run)}"
: "${INPUT_KEY:?the key input is required}"
: "${INPUT_COMMAND:?the command input is required}"
: "${INPUT_URL:?the url input is required}"

export STACKLOCK_URL="$INPUT_URL"
if [ -n "${INPUT_TOKEN:-}" ]; then
  echo "::add-mask::$INPUT_TOKEN"
  export STACKLOCK_TOKEN="$INPUT_TOKEN"
else
  if [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] || [ -z "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]; then
    echo "::error title=stacklock::No token input, and this job cannot request an OIDC token: add 'permissions: id-token: write' to the job, or pass a stacklock API token in the token input"
    exit 4
  fi
  # The CLI requests the OIDC token and exchanges it at /api/v1/auth/github-oidc (again if the
  # session expires during a long run); neither token is printed.
  export STACKLOCK_GITHUB_OIDC=true
  export STACKLOCK_WORKSPACE="${INPUT_WORKSPACE:-default}"
  export STACKLOCK_OIDC_AUDIENCE="${INPUT_OIDC_AUDIENCE:-atmos-pro.com}"
fi

args=(run "$INPUT_KEY" --ttl "${INPUT_TTL:-2m}" --message "${INPUT_MESSAGE:-}" --grace "${INPUT_GRACE:-10s}")
if [ -n "${INPUT_WAIT:-}" ] && [ "${INPUT_WAIT}" != "0" ]; then
  args+=(--wait "$INPUT_WAIT")
fi
exec node "$STACKLOCK_BIN" "${args[@]}" -- bash -eo pipefail -c "$INPUT_COMMAND"
