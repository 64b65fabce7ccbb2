#!/usr/bin/env python3
"""Hugging Face transformers `generate` with a precomputed KV prefix: the
reference point for bench/throughput_bench on a GPU machine (which has
PyTorch and transformers; CI does not run this).

Same shapes as our random models (src/engine/random_model.cpp), random bf16
weights, a batch of `--batch` rows each with its own prefix of `--prefix`
tokens already in `past_key_values` (a Cartridge stands in for exactly
that), then `--question` new prompt tokens and `--decode` greedy tokens.
Prints one JSON object: tokens/s = batch * decode / time of generate().
"""
import argparse
import json
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = {  # dim, ffn, layers, heads, kv heads, vocab, rope factor, tied
    "llama-3.2-1b": (2048, 8192, 16, 32, 8, 128256, 32.0, True),
    "llama-3.2-3b": (3072, 8192, 28, 24, 8, 128256, 32.0, True),
    "llama-3.1-8b": (4096, 14336, 32, 32, 8, 128256, 8.0, False),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="llama-3.1-8b", choices=sorted(SHAPES))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--prefix", type=int, default=2048)
    ap.add_argument("--question", type=int, default=32)
    ap.add_argument("--decode", type=int, default=128)
    a = ap.parse_args()
    dim, ffn, layers, heads, kv, vocab, factor, tied = SHAPES[a.shape]
    cfg = LlamaConfig(hidden_size=dim, intermediate_size=ffn, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=kv, vocab_size=vocab,
                      max_position_embeddings=131072, rope_theta=500000.0, tie_word_embeddings=tied,
                      rope_scaling={"rope_type": "llama3", "factor": factor, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM._from_config(cfg, torch_dtype=torch.bfloat16, attn_implementation="sdpa")
    model.eval()
    g = torch.Generator(device="cuda").manual_seed(0)
    prefix = torch.randint(3, vocab, (a.batch, a.prefix), device="cuda", generator=g)
    question = torch.randint(3, vocab, (a.batch, a.question), device="cuda", generator=g)
    with torch.inference_mode():
        # The decoder alone: the LM head over 64 x 2048 positions would be a
        # 33 GB logits tensor nobody reads.
        cache = model.model(input_ids=prefix, use_cache=True).past_key_values
        ids = torch.cat([prefix, question], 1)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), past_key_values=cache,
                             max_new_tokens=a.decode, min_new_tokens=a.decode, do_sample=False,
                             pad_token_id=0)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
    new = out.shape[1] - ids.shape[1]
    print(json.dumps({"bench": "hf_generate", "shape": a.shape, "batch": a.batch, "prefix": a.prefix,
                      "question": a.question, "decode": new, "seconds": dt,
                      "tokens_per_s": a.batch * new / dt, "transformers": __import__("transformers").__version__,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
