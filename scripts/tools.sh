# Sourced by Ponte's scripts: makes sure the Python-packaged tools are installed in the
# project's own virtualenvs (.venv/tools, and .venv/sam with PONTE_NEED_SAM=1), then puts them
# on PATH. A virtualenv is rebuilt when its requirements file changes; otherwise this is quick.

ponte_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

ponte_venv() {
  local name="$1" requirements="$2"
  local venv="$ponte_root/.venv/$name"
  local stamp="$venv/.requirements"
  if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
    echo "tools: installing $(basename "$requirements") into .venv/$name" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    # No wheel cache: each venv is built once, and CI machines can be short of disk.
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir -r "$requirements"
    cp "$requirements" "$stamp"
  fi
}

ponte_venv tools "$ponte_root/scripts/requirements-tools.txt"
export PATH="$ponte_root/.venv/tools/bin:$PATH"
# The moto server of the tests and the local run starts with this interpreter.
export PONTE_PYTHON="$ponte_root/.venv/tools/bin/python"

if [ "${PONTE_NEED_SAM:-0}" = 1 ]; then
  ponte_venv sam "$ponte_root/scripts/requirements-sam.txt"
  # cargo-lambda first, as sam build looks for it on PATH; sam and cfn-lint after.
  export PATH="$ponte_root/.venv/tools/bin:$PATH:$ponte_root/.venv/sam/bin"
fi
