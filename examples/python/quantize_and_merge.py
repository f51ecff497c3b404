"""Fine-tune deployment in three steps: merge a PEFT LoRA into a GGUF base, save it, quantize it.

    python3 examples/python/quantize_and_merge.py BASE.gguf LORA_DIR OUT_PREFIX [TYPE]

Writes OUT_PREFIX.merged.gguf (the merged weights, F32 where the base was quantized) and
OUT_PREFIX.TYPE.gguf (llama-quantize's rules; default q8_0), then compares the three models' next-token
predictions on a short prompt. (C: loom_lora_merge, loom_model_save, loom_model_quantize.)"""
import sys

import numpy as np

import loom


def top5(model, ids):
    return [int(i) for i in np.argsort(-model.logits(ids)[-1])[:5]]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    base_path, lora_path, prefix = sys.argv[1:4]
    qtype = sys.argv[4] if len(sys.argv) > 4 else "q8_0"
    merged_path, quant_path = f"{prefix}.merged.gguf", f"{prefix}.{qtype}.gguf"
    with loom.Model(base_path) as base:
        ids = base.tokenize("The licenses for most software are designed", add_special=True)
        adapter = base.load_adapter(lora_path)
        base.set_adapters([adapter])
        runtime = top5(base, ids)
        base.set_adapters([])
        base.merge_lora(adapter, scale=1.0)
        base.save(merged_path)
    loom.quantize(merged_path, quant_path, qtype, allow_requantize=True)
    with loom.Model(merged_path) as merged, loom.Model(quant_path) as quant:
        print("adapter at run time :", runtime)
        print("merged and saved    :", top5(merged, ids))
        print(f"quantized to {qtype:6s}:", top5(quant, ids))


if __name__ == "__main__":
    main()
