// Hugging Face's Rust `tokenizers` crate, through its official Node binding (npm `tokenizers`), for the
// transformers stand-in in tools/parity/shims/transformers (machines without transformers). One request on
// stdin, one answer on stdout, both JSON:
//   in:  {"tokenizer_file": ".../tokenizer.json", "token_ids": ["<pad>"],
//         "calls": [{"texts": [...], "add_special_tokens": true,
//                    "truncation": null | {"max_length": n, "stride": 0, "strategy": "longest_first",
//                                          "direction": "right"},
//                    "padding": null | {"length": n|null, "direction": "right", "pad_id": 0, "pad_type_id": 0,
//                                       "pad_token": "<pad>", "pad_to_multiple_of": null}}]}
//   out: {"binding": "tokenizers@0.23.2", "vocab_size": n, "token_ids": {"<pad>": 0},
//         "results": [[{"ids": [...], "attention_mask": [...]}, ...], ...]}
// Each call sets (or clears) truncation and padding on the tokenizer and runs encodeBatch, which is what
// transformers' PreTrainedTokenizerFast does with the Python binding of the same crate (enable_truncation /
// no_truncation, enable_padding / no_padding, encode_batch).
'use strict';
const fs = require('fs');
const path = require('path');

const BINDING_VERSION = '0.23.2';
const BINDING_ENV = 'TALKGEN_NODE_TOKENIZERS';

function loadBinding() {
  const dir = process.env[BINDING_ENV] ||
              path.join(__dirname, '..', '..', '.ref', 'node', 'node_modules', 'tokenizers');
  let pkg;
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  } catch (e) {
    throw new Error(`no npm tokenizers package at ${dir} (${e.message}): install it with ` +
                    `"npm install --prefix .ref/node tokenizers@${BINDING_VERSION}" or set ${BINDING_ENV}`);
  }
  if (pkg.name !== 'tokenizers' || pkg.version !== BINDING_VERSION)
    throw new Error(`${dir} holds ${pkg.name}@${pkg.version}; ` +
                    `the parity data is made with tokenizers@${BINDING_VERSION}`);
  return require(dir);
}

// transformers' names for the truncation strategy and the sides, as the Node binding spells them.
const STRATEGIES = {longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond'};
const TRUNCATION_SIDES = {left: 'left', right: 'right'};
const PADDING_SIDES = {left: 'left', right: 'right'};

function pick(table, key, what) {
  if (!(key in table)) throw new Error(`unknown ${what} ${JSON.stringify(key)}`);
  return table[key];
}

async function main() {
  const request = JSON.parse(fs.readFileSync(0, 'utf8'));
  const {Tokenizer} = loadBinding();
  const tokenizer = Tokenizer.fromFile(request.tokenizer_file);
  const answer = {binding: `tokenizers@${BINDING_VERSION}`, vocab_size: tokenizer.getVocabSize(false), token_ids: {},
                  results: []};
  for (const token of request.token_ids || []) answer.token_ids[token] = tokenizer.tokenToId(token);
  for (const call of request.calls || []) {
    const t = call.truncation;
    if (t) {
      tokenizer.setTruncation(t.max_length, {
        stride: t.stride,
        strategy: pick(STRATEGIES, t.strategy, 'truncation strategy'),
        direction: pick(TRUNCATION_SIDES, t.direction, 'truncation side'),
      });
    } else {
      tokenizer.disableTruncation();
    }
    const p = call.padding;
    if (p) {
      const options = {direction: pick(PADDING_SIDES, p.direction, 'padding side'), padId: p.pad_id,
                       padTypeId: p.pad_type_id, padToken: p.pad_token};
      if (p.length !== null) options.maxLength = p.length;  // null: pad to the batch's longest
      if (p.pad_to_multiple_of !== null) options.padToMultipleOf = p.pad_to_multiple_of;
      tokenizer.setPadding(options);
    } else {
      tokenizer.disablePadding();
    }
    const encodings = await tokenizer.encodeBatch(call.texts, {addSpecialTokens: call.add_special_tokens});
    answer.results.push(encodings.map((e) => ({ids: e.getIds(), attention_mask: e.getAttentionMask()})));
  }
  process.stdout.write(JSON.stringify(answer));
}

main().catch((e) => {
  process.stderr.write(`hf_tokenizers.js: ${e.stack || e}\n`);
  process.exit(1);
});
