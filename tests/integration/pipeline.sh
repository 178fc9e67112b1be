#!/usr/bin/env bash
# A CI pipeline in miniature, the steps of docs/ci.md: mint a job token with the bot's
# personal token, build with buildah, push under the job token, then promote the tested
# image to its release name with deploy/ci/promote.sh and the release credential.
# Environment: REGISTRY (host:port), BOT_TOKEN, RELEASE_TOKEN, SOURCE_PROJECT, SOURCE
# (repository), COMMIT (tag), RELEASE (target repository:tag), WORK (a folder).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
api="http://$REGISTRY/api/v1"

job_token=$(curl -fsS -X POST -H "PRIVATE-TOKEN: $BOT_TOKEN" -H 'Content-Type: application/json' \
  -d '{"ttl_seconds": 600}' "$api/projects/$SOURCE_PROJECT/job_tokens" | jq -r .token)

cd "$WORK"
printf 'built from commit %s\n' "$COMMIT" > version.txt
printf 'FROM scratch\nCOPY version.txt /version.txt\nCMD ["/version.txt"]\n' > Containerfile
echo "$job_token" | buildah login --tls-verify=false -u dockyard-ci-token --password-stdin "$REGISTRY"
buildah bud --isolation chroot --quiet -t "$REGISTRY/$SOURCE:$COMMIT" . >/dev/null
buildah push --quiet --tls-verify=false "$REGISTRY/$SOURCE:$COMMIT"

DOCKYARD_URL="http://$REGISTRY" DOCKYARD_TOKEN="$RELEASE_TOKEN" DOCKYARD_REFERRERS=true \
  "$here/../../deploy/ci/promote.sh" "$SOURCE:$COMMIT" "$RELEASE"
