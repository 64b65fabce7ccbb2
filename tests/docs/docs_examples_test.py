#!/usr/bin/env python3
"""Every example in the documentation runs, so that none can rot.

Fenced blocks are read from README.md, docs/*.md and models/*/README.md:
  ```sql      runs with `cartridge exec` in a fresh data directory on the shipped model;
  ```sh       runs with bash -e in a fresh scratch directory that sees the checkout's
              demo/, docs/, examples/, models/ and build/ (so `build/bin/cartridge` and
              'demo/data/farm' mean what they mean in the checkout), writes staying there;
  ```text, ```console, ```ebnf, ```cpp ... are shown, not run (a long-running server,
              a GPU script, a placeholder such as FILE): the block or its text says so.
A fence without a language fails the test: every block says which kind it is.

Usage: docs_examples_test.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN = {"sql", "sh"}
TIMEOUT_S = 240  # per block; the whole test takes about a minute on an idle machine

def blocks(path: Path):
    """(line, language, text) of each fenced block."""
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(.*)$", lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2).strip()
        start = i + 1
        body = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        yield start, lang, "\n".join(body) + "\n"

def scratch(src: Path, build: Path, into: Path):
    for name in ("demo", "docs", "examples", "models"):
        (into / name).symlink_to(src / name)
    (into / "build").symlink_to(build)

def run_block(src: Path, build: Path, lang: str, text: str):
    with tempfile.TemporaryDirectory(prefix="cdb-docs-") as tmp:
        work = Path(tmp)
        scratch(src, build, work)
        env = dict(os.environ, PATH=f"{build / 'bin'}:{os.environ.get('PATH', '')}")
        env.pop("CDB_MODELS", None)  # the shipped model, as a new user has it
        if lang == "sql":
            script = work / "example.sql"
            script.write_text(text)
            cmd = [str(build / "bin" / "cartridge"), "exec", str(work / "data"), "-f", str(script)]
        else:
            cmd = ["bash", "-euo", "pipefail", "-c", text]
        return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)

def main():
    src, build = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    files = [src / "README.md"] + sorted((src / "docs").glob("*.md")) + sorted((src / "models").glob("*/README.md"))
    passed = failed = shown = 0
    t0 = time.monotonic()
    for f in files:
        rel = f.relative_to(src)
        for line, lang, text in blocks(f):
            where = f"{rel}:{line}"
            if not lang:
                print(f"FAIL {where}: a fence without a language (mark it sql, sh, text or console)")
                failed += 1
                continue
            if lang not in RUN:
                shown += 1
                continue
            t = time.monotonic()
            try:
                r = run_block(src, build, lang, text)
                ok, out = r.returncode == 0, r.stdout + r.stderr
                if lang == "sql" and ok and "error" in r.stderr.lower():
                    ok = False
            except subprocess.TimeoutExpired as e:
                ok, out = False, f"timed out after {TIMEOUT_S} s\n{e.stdout or ''}{e.stderr or ''}"
            if ok:
                passed += 1
                print(f"ok   {where} ({lang}, {time.monotonic() - t:.1f} s)")
            else:
                failed += 1
                print(f"FAIL {where} ({lang}):\n{text}--- output ---\n{out[-3000:]}")
    print(f"{shown} blocks shown only; {time.monotonic() - t0:.0f} s")
    print(f"docs examples: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1

if __name__ == "__main__":
    sys.exit(main())
