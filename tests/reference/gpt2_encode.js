// The reference GPT-2 token ids of a UTF-8 text file: tiktoken's "gpt2" encoding (OpenAI's
// Rust tokenizer, compiled to WebAssembly; npm package `tiktoken`), with "<|endoftext|>"
// allowed as the special token 50256. Prints one JSON array line per file.
//
//   node tests/reference/gpt2_encode.js NODE_MODULES_DIR FILE...
//
// NODE_MODULES_DIR is where scripts/install_deps.sh put the npm packages
// (third_party/npm/node_modules). The text is decoded from UTF-8 by Node; use it on valid
// UTF-8 only (tiktoken encodes strings, not bytes).
const path = require("path");
const fs = require("fs");
const [modules, ...files] = process.argv.slice(2);
if (!modules || files.length == 0) {
  process.stderr.write("usage: node gpt2_encode.js NODE_MODULES_DIR FILE...\n");
  process.exit(2);
}
const { get_encoding } = require(path.resolve(modules, "tiktoken"));
const enc = get_encoding("gpt2");
for (const file of files) {
  const text = fs.readFileSync(file, "utf8");
  process.stdout.write(JSON.stringify(Array.from(enc.encode(text, "all"))) + "\n");
}
enc.free();
