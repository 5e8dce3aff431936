# Sourced by demo.sh and test.sh: creates .venv (if missing) and installs the project into it.
# Usage: ensure_venv "."   or   ensure_venv ".[dev]"

ensure_venv() {
    local target="$1"
    local python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "Python 3.11 or newer is required (tried: $python). Set PYTHON=/path/to/python3.11." >&2
        exit 1
    fi
    if [ ! -x .venv/bin/python ]; then
        echo "Creating .venv with $("$python" --version)"
        "$python" -m venv .venv
    fi
    # Reinstall only when pyproject.toml changed since the last install of this target.
    local stamp=".venv/.installed-$(echo "$target" | tr -c 'a-z' '_')"
    local digest
    digest="$(.venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' pyproject.toml)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        echo "Installing $target into .venv"
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e "$target"
        echo "$digest" > "$stamp"
    fi
}
