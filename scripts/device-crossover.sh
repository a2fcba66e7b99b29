#!/bin/bash
# Measures the `--device auto` rule's threshold (src/embed/device.rs): the marginal embedding
# time of the CPU reference and of the GPU engine on this machine's adapter, per width C.
# Marginal = time(80 sentences) − time(16 sentences), so model loading and shader
# compilation cancel: 64 MRPC test sentences, 1681 tokens (world tokenizer).
#   make build && scripts/device-crossover.sh            (CS="64 256 512 1024 2048" by default)
# Random checkpoints: 4 blocks, f16, vocab 65536, written to $WORK (default /tmp/device-crossover).
set -euo pipefail
LENS=${LENS:-target/release/rwkv-lens}
DATA=${RWKV_LENS_DATA:-../shared/data}
WORK=${WORK:-/tmp/device-crossover}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
mkdir -p "$WORK"
awk -F'\t' 'NR>1{print $4; print $5}' "$DATA/mrpc/msr_paraphrase_test.txt" | head -80 >"$WORK/s80.txt"
head -16 "$WORK/s80.txt" >"$WORK/s16.txt"
seconds() { # device model sentences
    local s e
    s=$(date +%s.%N)
    "$LENS" embed --model "$2" --device "$1" -o "$WORK/out.npy" --layers 4 "$3" >/dev/null 2>"$WORK/err.txt" || { cat "$WORK/err.txt"; exit 1; }
    e=$(date +%s.%N)
    echo "$e - $s" | bc
}
printf '%6s %12s %12s %8s\n' C cpu_s gpu_s cpu/gpu
for C in ${CS:-64 256 512 1024 2048}; do
    m="$WORK/m$C.safetensors"
    [ -f "$m" ] || "$LENS" random-model --layers 4 --embd "$C" --dtype f16 --seed 1 -o "$m" >/dev/null 2>&1
    cpu=$(echo "$(seconds cpu "$m" "$WORK/s80.txt") - $(seconds cpu "$m" "$WORK/s16.txt")" | bc)
    gpu=$(echo "$(seconds gpu "$m" "$WORK/s80.txt") - $(seconds gpu "$m" "$WORK/s16.txt")" | bc)
    printf '%6s %12.2f %12.2f %8.2f\n' "$C" "$cpu" "$gpu" "$(echo "$cpu / $gpu" | bc -l)"
done
