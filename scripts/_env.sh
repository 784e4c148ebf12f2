# Shared by scripts/run and scripts/test: make sure .venv exists with the given requirements.
# Re-installs only when the requirements files change (a stamp holds their checksum).
ensure_venv() {
  local reqs="$1" py="${PYTHON:-python3.11}"
  command -v "$py" >/dev/null 2>&1 || py=python3
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $("$py" --version)"
    "$py" -m venv .venv
  fi
  local sum stamp=".venv/.installed-$(basename "$reqs")"
  sum=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    echo "==> installing $reqs"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$reqs"
    echo "$sum" > "$stamp"
  fi
}
