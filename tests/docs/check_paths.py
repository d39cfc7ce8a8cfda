#!/usr/bin/env python3
"""Keeps the guide honest: every repository path docs/*.md names must exist, and every
`path/file.ext:name` reference must name something that appears in that file.

A reference is a backticked span or a markdown link target whose first component is a
top-level entry of the repository (tensor/, nn/, train/, tests/, ... or a top-level file), e.g.
`nn/attention.cpp`, `train/run/trainer.cpp:Trainer::train_step_`, `tests/train/test_diag.cpp:DiagCost`,
[the block](../nn/block.h). For `file:A::b` both A and b must appear in the file as words.
A glob (`autograd/ops/*.cpp`) must match at least one file. Paths outside the repository
(out/ckpt.bin, ../elsewhere/notes.md) are not checked, nor are files a reader is told to
create, written with braces so they do not parse as one path: `optim/signsgd.{h,cpp}`.

  python3 tests/docs/check_paths.py <repo>          # ctest: docs_paths
  python3 tests/docs/check_paths.py --self-test     # the checker catches what it should
"""
import glob as globmod
import os
import re
import sys
import tempfile

REF = re.compile(r"`([^`\s]+)`|\]\(([^)\s#]+)(?:#[^)]*)?\)")
EXT = re.compile(r"\.(h|cpp|hpp|md|py|sh|txt|json|cmake)$|/$|^CMakeLists\.txt$|^Makefile$")


def references(text):
    for m in REF.finditer(text):
        token = m.group(1) or m.group(2)
        yield token, text.count("\n", 0, m.start()) + 1, m.group(2) is not None


def check(root):
    """Returns (errors, number of references checked)."""
    top = set(os.listdir(root))
    errors, checked = [], 0
    docs = os.path.join(root, "docs")
    for name in sorted(os.listdir(docs)):
        if not name.endswith(".md"):
            continue
        doc = os.path.join(docs, name)
        with open(doc, encoding="utf-8") as f:
            text = f.read()
        for token, line, is_link in references(text):
            if is_link:
                if re.match(r"[a-z]+://", token):
                    continue
                # links are relative to docs/
                target = os.path.normpath(os.path.join("docs", token))
                if target.startswith(".."):
                    continue
                path, symbol = target, None
            else:
                path, _, symbol = token.partition(":")
                symbol = symbol or None
            first = path.split("/")[0]
            if first not in top or not EXT.search(path.split("/")[-1] + ("/" if path.endswith("/") else "")):
                continue
            checked += 1
            where = f"docs/{name}:{line}"
            full = os.path.join(root, path)
            if "*" in path:  # a glob names a family of files: at least one must exist
                if not globmod.glob(full):
                    errors.append(f"{where}: `{token}`: no file matches {path}")
                continue
            if not os.path.exists(full):
                errors.append(f"{where}: `{token}`: {path} does not exist")
                continue
            if symbol:
                if os.path.isdir(full):
                    errors.append(f"{where}: `{token}`: {path} is a directory")
                    continue
                with open(full, encoding="utf-8", errors="replace") as f:
                    body = f.read()
                for part in [p for p in symbol.replace("()", "").split("::") if p]:
                    if not re.search(r"(?<![A-Za-z0-9_])" + re.escape(part) + r"(?![A-Za-z0-9_])", body):
                        errors.append(f"{where}: `{token}`: '{part}' does not appear in {path}")
    return errors, checked


def self_test():
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "docs"))
        os.makedirs(os.path.join(root, "nn"))
        with open(os.path.join(root, "nn", "gpt.cpp"), "w") as f:
            f.write("Tensor GPT::forward(const Tensor& ids) {}\n")
        with open(os.path.join(root, "docs", "a.md"), "w") as f:
            f.write("`nn/gpt.cpp:GPT::forward` [gpt](../nn/gpt.cpp) `out/ckpt.bin`\n"
                    "`nn/gpt.cpp:GPT::backward` `nn/missing.h` [x](../nn/gone.cpp)\n")
        errors, checked = check(root)
        assert checked == 5, checked
        assert len(errors) == 3, errors
        assert "backward" in errors[0] and "missing.h" in errors[1] and "gone.cpp" in errors[2], errors
    print("self-test ok")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    self_test()
    errors, checked = check(root)
    for e in errors:
        print(e)
    print(f"{checked} references in docs/*.md checked, {len(errors)} broken")
    if checked < 20:
        print("fewer than 20 references: is the parser still finding them?")
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
