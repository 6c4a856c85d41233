#!/usr/bin/env bash
# GPU check (run it on a machine with a CUDA GPU; it installs nothing from the network):
# real-time factors of plain MusicGen generate against AlbumGen's music tool, for the random-weight
# small and medium architectures, in fp32 and bf16.  Usage: bash benchmarks/gpu.sh [SECONDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
SECONDS_OF_AUDIO=${1:-4}
RUNS=${2:-3}
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('torch', torch.__version__, torch.cuda.get_device_name())"
for size in small medium; do
  for dtype in float32 bfloat16; do
    $PY benchmarks/music_engine.py --size "$size" --device cuda --dtype "$dtype" --runs "$RUNS" --seconds "$SECONDS_OF_AUDIO"
  done
done
