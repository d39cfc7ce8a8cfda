#!/usr/bin/env python3
"""docs/extending.md states how many files a new loss, optimizer and block type touch in the
library; this reads the code and fails if a stated count is not what the code needs.

For each family the registry's list file holds one call per built-in entry
(`r.add(focal_loss_type());` in nn/loss/registry.cpp). For each listed entry this finds the
file pair that defines its entry function, the config keys the entry names (the string
literals of its EntryKey), and every other source file that spells one of those keys as a
literal: a file a new entry like it would have to edit. The count for the family is
the largest over its entries with keys: the pair + the list file + the other files + 1 (its
test file). The doc must state it in a sentence of the form
"A new loss with a hyperparameter touches N files" (loss | optimizer | block type).

  python3 tests/docs/extension_counts.py SOURCE_DIR
"""
import pathlib
import re
import sys

# The layers with registries and what reads the config (tensor/ and autograd/ name no config keys;
# a kernel message that says "momentum" is not an edit a new optimizer needs).
CODE_DIRS = ["nn", "optim", "train"]

FAMILIES = {
    # name in the doc: (list file, regex of an entry function call in the list)
    "loss": ("nn/loss/registry.cpp", r"r\.add\((\w+)\(\)\);"),
    "optimizer": ("optim/registry.cpp", r"r\.add\((\w+)\(\)\);"),
    "block type": ("nn/block_registry.cpp", r"r\.add\((\w+)\(\)\);"),
}


def sources(root):
    for d in CODE_DIRS:
        for p in sorted((root / d).rglob("*")):
            if p.suffix in (".h", ".cpp"):
                yield p


def strip_comments(text):
    return re.sub(r"//[^\n]*", "", text)


def function_body(text, name):
    """The text of the definition `... name(...) {...}` (braces matched), or None."""
    m = re.search(r"\b" + re.escape(name) + r"\([^;{}]*?\)\s*\{", text)
    if not m:
        return None
    i, depth = m.end() - 1, 0
    for j in range(i, len(text)):
        depth += text[j] == "{"
        depth -= text[j] == "}"
        if depth == 0:
            return text[i:j + 1]
    return None


def entry_keys(body, root, files):
    """The config keys an entry names: EntryKey literals, plus those of helper key functions
    it calls (optim's beta1_key())."""
    keys = set(re.findall(r'EntryKey::\w+\(\s*"(\w+)"', body))
    for helper in re.findall(r"\b(\w+_key)\(\)", body):
        for p in files:
            b = function_body(p.read_text(), helper)
            if b:
                keys |= set(re.findall(r'EntryKey::\w+\(\s*"(\w+)"', b))
    return keys


def count_family(root, family):
    """(count, (entry, keys, files)) for the entry with keys that touches the most files."""
    list_file, pattern = FAMILIES[family]
    list_path = root / list_file
    files = list(sources(root))
    texts = {p: strip_comments(p.read_text()) for p in files}
    entries = []  # (label, pair, keys)
    for m in re.finditer(pattern, texts[list_path], re.S):
        call = m.group(1)
        defs = [p for p in files if p.suffix == ".cpp" and p != list_path and
                function_body(texts[p], call) is not None]
        if len(defs) != 1:
            raise SystemExit(f"{family}: entry function {call}() is defined in {len(defs)} "
                             f"files (expected one .cpp beside its .h)")
        cpp = defs[0]
        header = cpp.with_suffix(".h")
        if not header.exists() or call not in texts.get(header, ""):
            raise SystemExit(f"{family}: {call}() is not declared in {header.relative_to(root)}")
        entries.append((call, {cpp, header}, entry_keys(function_body(texts[cpp], call), root, files)))
    all_pairs = set().union(*(pair for _, pair, _ in entries))
    worst = None
    for label, pair, keys in entries:
        if not keys:
            continue
        def mentions(p):
            return any(f'"{k}"' in texts[p] for k in keys)
        # Other entries of the family may share a key (adamw and lion: beta1): their files
        # are not edits a new entry needs.
        others = {p for p in files if p not in all_pairs and p != list_path and mentions(p)}
        touched = pair | {list_path} | others
        n = len(touched) + 1  # + its test
        detail = (label, sorted(keys), sorted(str(p.relative_to(root)) for p in touched))
        if worst is None or n > worst[0]:
            worst = (n, detail)
    return worst


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    doc = (root / "docs/extending.md").read_text()
    failures = 0
    for family in FAMILIES:
        claims = re.findall(r"\ba\s+new\s+" + family.replace(" ", r"\s+") +
                            r"\s+with\s+a\s+hyperparameter\s+touches\s+(\d+)\s+files", doc, re.I)
        if len(claims) != 1:
            print(f"FAIL {family}: docs/extending.md states the count {len(claims)} times "
                  f"(expected one sentence 'A new {family} with a hyperparameter touches N files')")
            failures += 1
            continue
        n, (label, keys, touched) = count_family(root, family)
        stated = int(claims[0])
        ok = stated == n
        failures += not ok
        print(f"{'ok' if ok else 'FAIL'} {family}: the doc says {stated}, the code needs {n} "
              f"(worst entry {label}, keys {', '.join(keys)}: {', '.join(touched)} + its test)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
