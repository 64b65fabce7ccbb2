#!/usr/bin/env python3
"""Fails if an #include runs upward between the folders of src/ (and shell/).

The folders form layers, written once below, highest first. A file may include
headers of its own folder and of any folder on a lower line; never of a folder
on its own line (peers stay independent) or above it. The folder of a file or
of an include is its first path component under src/ (or shell/), except that
a nested folder named in LAYERS (engine/tokenizer) is a layer of its own.
An include of a folder the layers do not name fails too, so that a new folder
is placed in them on purpose.

Usage: check-layering.py [SOURCE_DIR]   (CTest: layering.includes_run_downward)
"""
import pathlib
import re
import sys

# Highest first. README.md ("Architecture") draws the same order.
LAYERS = """
cli
http
server shell
db
cartridgedb
planner
jobs
train
cluster
scheduler residency
engine
cuda storage language engine/tokenizer
common
"""
# http: the OpenAI-compatible front end; above server because it reads the
# same users file (server/users.h) for its API keys and roles.
# cluster: routing and who-holds-what across serve nodes, over residency;
# the server and db sit above it.
# cartridgedb: include/cartridgedb/, the public API, which db implements and the
# server and the shell call.

RANK = {}
for rank, line in enumerate(reversed([l for l in LAYERS.split("\n") if l.strip()])):
    for folder in line.split():
        RANK[folder] = rank

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(path: str) -> str | None:
    """The layer a path ("engine/tokenizer/bpe.h") belongs to, longest match first."""
    parts = path.split("/")
    for n in range(len(parts) - 1, 0, -1):
        name = "/".join(parts[:n])
        if name in RANK:
            return name
    return None


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    files = []
    for top, prefix in ((root / "src", ""), (root / "shell", "shell/"), (root / "include", "")):
        files += [(f, prefix + f.relative_to(top).as_posix())
                  for f in sorted(top.rglob("*")) if f.suffix in (".h", ".cpp", ".cu", ".cuh", ".inc")]
    bad = []
    for file, rel in files:
        own = folder_of(rel)
        if own is None:
            continue  # a file outside every layer (none today) includes freely
        for number, text in enumerate(file.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(text)
            if not m or "/" not in m.group(1):
                continue  # "local.h" and <system> includes are not layering
            target = folder_of(m.group(1))
            where = f"{file.relative_to(root)}:{number}: {own} includes {m.group(1)}"
            if target is None:
                bad.append(f"{where}: folder not in LAYERS of {__file__}")
            elif target != own and RANK[target] >= RANK[own]:
                kind = "a peer" if RANK[target] == RANK[own] else "upward"
                bad.append(f"{where}: {kind} ({target} is not below {own})")
    for line in bad:
        print(line)
    print(f"layering: {len(files)} files, {len(bad)} includes that do not run downward")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
