// Encode speed of tiktoken's "gpt2" encoding (OpenAI's Rust BPE compiled to WebAssembly, the
// npm package `tiktoken`; single-threaded) on one UTF-8 text file, for bench/tokenizer_vs_tiktoken.sh.
//
//   node bench/tiktoken_speed.js NODE_MODULES_DIR TEXT_FILE OUT_IDS
//
// The text is encoded in pieces of about 1 MB, cut only after a lone "\n" between two characters
// that are not whitespace: GPT-2's pre-tokeniser makes that "\n" a piece of its own whether the
// text goes on or ends there (a longer run of whitespace would not be safe: at the end of a
// string "\n\n" is one piece, before a letter it is two), so the ids are those of encoding the
// whole text at once (bench/tokenizer_vs_tiktoken.sh checks them
// against tlm's). Only the encode calls are timed (not reading the file or writing the ids).
// Writes the ids as little-endian uint16 to OUT_IDS and prints one JSON line.
const path = require("path");
const fs = require("fs");
const [modules, file, outIds] = process.argv.slice(2);
if (!modules || !file || !outIds) {
  process.stderr.write("usage: node tiktoken_speed.js NODE_MODULES_DIR TEXT_FILE OUT_IDS\n");
  process.exit(2);
}
const { get_encoding } = require(path.resolve(modules, "tiktoken"));
const enc = get_encoding("gpt2");
const text = fs.readFileSync(file, "utf8");
const bytes = fs.statSync(file).size;

const pieces = [];
for (let start = 0; start < text.length;) {
  let end = Math.min(start + (1 << 20), text.length);
  const isSpace = (c) => /\s/.test(c);
  while (end < text.length &&
         !(text[end - 1] === "\n" && !isSpace(text[end - 2]) && !isSpace(text[end]))) ++end;
  pieces.push(text.slice(start, end));
  start = end;
}

const out = fs.openSync(outIds, "w");
let tokens = 0, seconds = 0;
for (const piece of pieces) {
  const t0 = process.hrtime.bigint();
  const ids = enc.encode_ordinary(piece);
  seconds += Number(process.hrtime.bigint() - t0) / 1e9;
  tokens += ids.length;
  const u16 = new Uint16Array(ids.length);
  for (let i = 0; i < ids.length; ++i) u16[i] = ids[i];
  fs.writeSync(out, Buffer.from(u16.buffer));
}
fs.closeSync(out);
enc.free();
process.stdout.write(JSON.stringify({ tool: "tiktoken", bytes, tokens, pieces: pieces.length,
  encode_seconds: seconds, encode_mb_per_s: bytes / 1e6 / seconds }) + "\n");
