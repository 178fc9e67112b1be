#!/usr/bin/env bash
# Promote a tested image to a release name without moving its bytes (docs/ci.md, step 3).
#
#   DOCKYARD_URL=https://registry.example.com DOCKYARD_TOKEN=... \
#     promote.sh acme/app/web:3f2c1e7 acme/prod/web:1.4.0
#
# DOCKYARD_TOKEN: any token the REST API takes (personal, deploy or job token, or the
# password `POST /api/v1/oidc/token` gives) that may pull the source and push the target.
# DOCKYARD_REFERRERS=true brings the image's signatures and SBOMs along.
# Prints the API's answer (JSON: digest, pull reference); exits non-zero with its error.
set -euo pipefail

source_ref=$1
target_ref=$2
repository=${source_ref%:*}
tag=${source_ref##*:}
api="${DOCKYARD_URL%/}/api/v1"
auth=(-H "Authorization: Bearer ${DOCKYARD_TOKEN}")

# The repository's id: ask each project the name could belong to, deepest first.
id=""
prefix=$repository
while [[ -z $id && $prefix == */* ]]; do
  prefix=${prefix%/*}
  listing=$(curl -sS "${auth[@]}" "$api/projects/$prefix/registry/repositories?name=${repository##*/}")
  id=$(jq -r --arg name "$repository" 'if type == "array" then (.[] | select(.name == $name) | .id) else empty end' <<<"$listing")
done
if [[ -z $id ]]; then
  echo "promote.sh: no repository $repository visible with this token" >&2
  exit 1
fi

body=$(jq -n --arg target "$target_ref" --argjson referrers "${DOCKYARD_REFERRERS:-false}" \
  '{target: $target, referrers: $referrers}')
answer=$(curl -sS -w '\n%{http_code}' -X POST "${auth[@]}" -H 'Content-Type: application/json' \
  -d "$body" "$api/registry/repositories/$id/tags/$tag/copy")
status=${answer##*$'\n'}
echo "${answer%$'\n'*}"
[[ $status == 201 ]] || { echo "promote.sh: the registry answered $status" >&2; exit 1; }
