#!/usr/bin/env bash
# One prepared benchmark run on an NVIDIA GPU machine that has no network (an H100/H200
# here; a T4 for the user). From the repository root:
#
#     OUT=/some/dir scripts/device-bench.sh
#
# 1. Vulkan: when no libvulkan.so.1 is installed, unpacks the loader packages that travel
#    with the working tree as .deb files in .gl/ (made by `make device-pack`); finds the
#    NVIDIA Vulkan ICD (or points VK_DRIVER_FILES at the container's driver mount).
# 2. Binaries: with cargo on PATH, `cargo build --release --offline` (and the web-rwkv peer);
#    without one (a bare GPU image), the stripped release binaries in .bench-bin/ (also made
#    by `make device-pack` on a machine that has the toolchain).
# 3. `rwkv-lens bench` for the 1.6B shape with packed-f16 weights (batches 1,8,64 × lengths
#    16,64,128,1024 up to 16384 tokens: the default GPU grid, web-rwkv's best cases 1×128 and
#    8×64 included), web-rwkv at the points it can do in seconds, the CPU
#    reference at 16 tokens, the roofline, the kernel profile, and the embedding workload
#    (MRPC: 1000 GLUE train + 408 validation pairs, all layers pooled) when mrpc/glue/ is
#    found ($RWKV_LENS_DATA, .bench-data/ or ../shared/data); then, with the time left, the
#    same shape with f32 weights (ours and the CPU reference only).
#    On a GPU the engine's defaults pick the tiled matmul, the norms' subgroup sums (where
#    the adapter has Features::SUBGROUP) and, at 1×1024, the chunked WKV.
# 4. The kernel variants side by side (tests/alone/gpu_speed.rs, timestamp profile; at most 60 s,
#    before the f32 run): serial vs chunked WKV at T = 128 and 1024, the norms' workgroup
#    tree vs subgroup sums → kernels.txt (from .bench-bin/gpu-speed without cargo).
# 5. Writes $OUT/bench.json (+ bench-f32.json), bench.md, kernels.txt, env.txt and log.txt.
#
# Budget: under 8 minutes including the build; every step runs under `timeout`.
# Overrides (environment): SHAPES, BATCHES, LENGTHS, MAX_TOKENS, EMBED_SHAPE, MRPC (train,dev),
# BUDGET_S (default 470), BENCH_ARGS (extra flags), NO_BUILD=1 (use .bench-bin/ even with
# cargo present); e.g. a smoke test on lavapipe:
#     NO_BUILD=1 SHAPES=tiny EMBED_SHAPE=tiny MRPC=4,4 BATCHES=1 LENGTHS=16 OUT=/tmp/db scripts/device-bench.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/device-bench}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
start=$(date +%s)
say() { echo "device-bench [$(( $(date +%s) - start ))s] $*"; }

# --- 1. Vulkan loader and NVIDIA ICD -------------------------------------------------------
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  if compgen -G ".gl/*.deb" >/dev/null; then
    say "unpacking $(ls .gl/*.deb | wc -l) loader packages from .gl/"
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    say "no libvulkan.so.1 and no .gl/*.deb: run 'make device-pack' where apt works, carry .gl"
  fi
fi
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
             /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
  done
fi
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
{
  echo "date: $(date -u +%FT%TZ)"; uname -a
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || true
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  ldconfig -p | grep -E 'libvulkan|libGLX_nvidia|libnvidia-glcore' || true
  command -v vulkaninfo >/dev/null && timeout 20 vulkaninfo --summary 2>&1 | head -40
} > "$OUT/env.txt" 2>&1
say "vulkan: ${VK_DRIVER_FILES:-system default ICDs}"

# --- 2. Binaries ---------------------------------------------------------------------------
BIN=.bench-bin/rwkv-lens
PEER=.bench-bin/web-rwkv-peer
if [ -z "${NO_BUILD:-}" ] && command -v cargo >/dev/null; then
  say "cargo found: release build (offline)"
  timeout 300 cargo build --release --offline --bin rwkv-lens && BIN=target/release/rwkv-lens
  timeout 200 cargo build --release --offline --manifest-path peer/web-rwkv/Cargo.toml \
    && PEER=peer/web-rwkv/target/release/web-rwkv-peer
  SPEED=$(timeout 200 cargo test --release --offline --no-run --test alone --message-format=json \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
fi
SPEED=${SPEED:-.bench-bin/gpu-speed}
if [ ! -x "$BIN" ]; then
  say "no rwkv-lens binary: no cargo here and no .bench-bin/ (run 'make device-pack', carry .bench-bin)"
  echo '{"error": "no rwkv-lens binary"}' > "$OUT/bench.json"
  exit 1
fi
PEER_ARGS=(--no-peer)
[ -x "$PEER" ] && PEER_ARGS=(--peer "$PEER")
say "rwkv-lens: $BIN; web-rwkv peer: ${PEER_ARGS[*]}"

# --- 3. The bench --------------------------------------------------------------------------
DATA=${RWKV_LENS_DATA:-}
for d in .bench-data ../shared/data shared/data; do
  [ -z "$DATA" ] && [ -f "$d/mrpc/glue/train.tsv" ] && DATA=$d
done
DATA_ARGS=(--no-embedding)
[ -n "$DATA" ] && DATA_ARGS=(--data "$DATA" --embedding-shape "${EMBED_SHAPE:-finch-1b6}" --mrpc "${MRPC:-1000,408}")
left() { echo $(( ${BUDGET_S:-470} - ($(date +%s) - start) )); }
GRID=(--shapes "${SHAPES:-finch-1b6}" --batches "${BATCHES:-1,8,64}" --lengths "${LENGTHS:-16,64,128,1024}"
      --max-tokens "${MAX_TOKENS:-16384}" --cpu-flops 5e10 --no-python)
say "f16 run, $(left) s left"
timeout "$(left)" "$BIN" bench "${GRID[@]}" --precisions f16 --peer-flops 1e13 \
  "${PEER_ARGS[@]}" "${DATA_ARGS[@]}" ${BENCH_ARGS:-} \
  --json "$OUT/bench.json" > "$OUT/bench.md"
rc=$?
cat "$OUT/bench.md"
if [ -x "$SPEED" ] && [ "$(left)" -gt 120 ]; then
  say "kernel variants (serial vs chunked WKV, norms' reductions), $(left) s left"
  timeout 60 "$SPEED" --ignored --nocapture --test-threads 1 gpu_speed:: > "$OUT/kernels.txt" 2>&1
  grep -E '^(wkv|norms) ' "$OUT/kernels.txt"
fi
if [ "$rc" -eq 0 ] && [ "$(left)" -gt 90 ]; then
  say "f32 run, $(left) s left"
  timeout "$(left)" "$BIN" bench "${GRID[@]}" --precisions f32 --no-peer --no-embedding \
    --no-roofline --no-profile --json "$OUT/bench-f32.json" > "$OUT/bench-f32.md" \
    && cat "$OUT/bench-f32.md"
fi
say "done (exit $rc); results in $OUT"
exit $rc
