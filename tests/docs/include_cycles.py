#!/usr/bin/env python3
"""No cycle between the folders of train/: reads the #include "train/<folder>/..." lines of
train/*/*.{h,cpp}, builds the folder graph, and fails naming each cycle with the includes that
make it (for a two-folder cycle, one include each way).

  python3 tests/docs/include_cycles.py SOURCE_DIR
"""
import collections
import pathlib
import re
import sys


def folder_graph(root):
    edges = collections.defaultdict(lambda: collections.defaultdict(list))
    for p in sorted((root / "train").glob("*/*")):
        if p.suffix not in (".h", ".cpp"):
            continue
        src = p.parent.name
        for m in re.finditer(r'^\s*#\s*include\s+"train/(\w+)/([^"]+)"', p.read_text(), re.M):
            if m.group(1) != src:
                edges[src][m.group(1)].append(f"{src}/{p.name} includes train/{m.group(1)}/{m.group(2)}")
    return edges


def cycles(edges):
    """Every elementary cycle's node list, each once (rotated to start at its least folder)."""
    found = set()
    nodes = sorted(set(edges) | {b for a in edges for b in edges[a]})

    def walk(start, node, path):
        for nxt in sorted(edges.get(node, {})):
            if nxt == start:
                found.add(tuple(path))
            elif nxt > start and nxt not in path:
                walk(start, nxt, path + [nxt])

    for n in nodes:
        walk(n, n, [n])
    return sorted(found, key=lambda c: (len(c), c))


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    edges = folder_graph(root)
    found = cycles(edges)
    for c in found:
        ring = list(c) + [c[0]]
        print("cycle: " + " -> ".join(ring))
        for a, b in zip(ring, ring[1:]):
            print("  " + edges[a][b][0] + (f" (+{len(edges[a][b]) - 1} more)" if len(edges[a][b]) > 1 else ""))
    if not found:
        order = ", ".join(f"{a} -> {{{', '.join(sorted(edges[a]))}}}" for a in sorted(edges))
        print(f"no cycle between the folders of train/: {order}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
