#!/usr/bin/env bash
# deploy/schemathesis/install.sh: schemathesis (PyPI), pinned with its
# dependencies in requirements.txt beside this file, in a virtualenv under
# .data/schemathesis (SCHEMATHESIS_VENV). A second run with the same
# requirements does nothing. Prints nothing but status lines; the program is
# $SCHEMATHESIS_VENV/bin/schemathesis.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

REQ=$REPO_ROOT/deploy/schemathesis/requirements.txt
VENV=${SCHEMATHESIS_VENV:-$REPO_ROOT/.data/schemathesis}
init_dirs

sum=$(sha256sum "$REQ" | cut -d' ' -f1)
if [[ -x $VENV/bin/schemathesis && $(cat "$VENV/.requirements.sha256" 2>/dev/null) == "$sum" ]]; then
  say schemathesis "present ($(rel "$VENV/bin/schemathesis"))"
  exit 0
fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  say schemathesis "installing Debian's python3-venv (apt-get)..."
  apt_install python3 python3-venv
fi
log=$(log_file install-schemathesis)
say schemathesis "installing requirements.txt into $(rel "$VENV") (log $(rel "$log"))..."
rm -rf "$VENV"
python3 -m venv "$VENV" >>"$log" 2>&1 || svc_fail schemathesis "python3 -m venv failed" "$log"
"$VENV/bin/pip" install --disable-pip-version-check -q -r "$REQ" >>"$log" 2>&1 ||
  svc_fail schemathesis "pip install -r $(rel "$REQ") failed" "$log"
echo "$sum" >"$VENV/.requirements.sha256"
say schemathesis "installed $("$VENV/bin/schemathesis" --version)"
