# Sourced by Ponte's scripts: makes sure the Python-packaged tools are installed in the
# project's own virtualenvs (.venv/tools, and .venv/sam with PONTE_NEED_SAM=1), then puts them
# on PATH. A virtualenv is rebuilt when its requirements file changes; otherwise this is quick.

ponte_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# A line per long stage, with the time since the script started, so a first run that takes
# minutes never sits silent.
ponte_started=$SECONDS
ponte_stage() {
  echo "== $* [$((SECONDS - ponte_started)) s]" >&2
}

# Warns, before a step that writes gigabytes, when the disk holding the repository has less free
# than the step needs: a build that runs out of room fails deep inside cargo or pip with "No
# space left on device", long after the cause.
ponte_need_disk() {
  local gigabytes="$1" what="$2" free_kb
  free_kb="$(df -Pk "$ponte_root" | awk 'NR == 2 { print $4 }')"
  if [ -n "$free_kb" ] && [ "$free_kb" -lt $((gigabytes * 1024 * 1024)) ]; then
    echo "warning: $what needs about $gigabytes GB of free disk; $((free_kb / 1024)) MB are free here (df $ponte_root). Free some (cargo clean removes target/) or expect 'No space left on device'." >&2
  fi
}

ponte_venv() {
  local name="$1" requirements="$2"
  local venv="$ponte_root/.venv/$name"
  local stamp="$venv/.requirements"
  if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
    ponte_stage "tools: installing $(basename "$requirements") into .venv/$name (once; a minute or two)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # No wheel cache: each venv is built once, and CI machines can be short of disk. pip's
    # own lines (one per package) are the progress.
    "$venv/bin/pip" install --progress-bar off --disable-pip-version-check --no-cache-dir -r "$requirements" >&2
    cp "$requirements" "$stamp"
    ponte_stage "tools: .venv/$name ready"
  fi
}

ponte_venv tools "$ponte_root/scripts/requirements-tools.txt"
export PATH="$ponte_root/.venv/tools/bin:$PATH"
# The moto server of the tests and the local run starts with this interpreter.
export PONTE_PYTHON="$ponte_root/.venv/tools/bin/python"

if [ "${PONTE_NEED_SAM:-0}" = 1 ]; then
  # No telemetry banner, and nothing sent: these machines reach no AWS endpoint.
  export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"
  ponte_venv sam "$ponte_root/scripts/requirements-sam.txt"
  # cargo-lambda first, as sam build looks for it on PATH; sam and cfn-lint after.
  export PATH="$ponte_root/.venv/tools/bin:$PATH:$ponte_root/.venv/sam/bin"
fi
