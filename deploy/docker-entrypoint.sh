#!/bin/bash
# The image's entrypoint (deploy/Dockerfile). `serve` (the default command) applies pending
# migrations first: production refuses to start with one pending, and `parley migrate` is safe
# in several containers at once (it holds a database lock). PARLEY_MIGRATE_ON_START=0 skips it,
# for deployments that run `parley migrate` as a separate step. Any other command (`migrate`,
# `tts ...`, `batch-translate ...`, `--version`) runs as given.
set -euo pipefail

[[ $# -gt 0 ]] || set -- serve

# The command is the first word that is not an option (`--env-file PATH` may come first).
args=("$@")
serving=0
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --env-file) ((i += 1)) ;;
    -*) ;;
    serve) args[i]=migrate; serving=1; break ;;  # same options, the other command
    *) break ;;
  esac
done

if [[ $serving -eq 1 && ${PARLEY_MIGRATE_ON_START:-1} != 0 ]]; then
  parley "${args[@]}"
fi
exec parley "$@"
