#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for the native build and tests:
# Mesa's CPU Vulkan driver (lavapipe) so wgpu has an adapter without a GPU.
# Idempotent: skips what is already present.
set -euo pipefail
need=()
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
dpkg -s libvulkan1 >/dev/null 2>&1 || need+=(libvulkan1)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  echo "setup: installed ${need[*]}"
fi
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt
