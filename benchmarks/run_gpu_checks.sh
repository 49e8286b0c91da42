#!/bin/bash
# The GPU checks behind the README's "On a GPU" section, in one script (about 5 minutes on one
# H200): the CUDA-vs-CPU tests, the oracle-ensemble benchmark on CUDA, the unlearning claims at
# full scale on CUDA, and every claim at smoke scale on CUDA. Run from the repository root on
# a machine with a GPU; logs and the records go to $OUT (default /tmp/theorylab_gpu).
#   OUT=/tmp/gpu bash benchmarks/run_gpu_checks.sh
# Fashion-MNIST: the Debian package's folder, or set THEORYLAB_FASHION_MNIST to a copy.
set -u
OUT=${OUT:-/tmp/theorylab_gpu}; PY=${PY:-python3}; mkdir -p "$OUT/full" "$OUT/smoke"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
UNLEARNING="fan2024_worst_case_forget_harder jia2023_sparsity_unlearning_prune_first
 foster2023_ssd_full_class shen2024_laf_class_removal modhifi2025_class_unlearning
 choi2023_mufac_identity georgiev2024_dmm_klom tarun2022_regression_unlearning_blindspot
 liu2025_iau_gr"
nvidia-smi -L | tee "$OUT/env.log"
$PY -m pytest -m gpu -q -p no:cacheprovider -o addopts="" tests 2>&1 | tail -20 | tee "$OUT/gpu_tests.log"
$PY benchmarks/bench_unlearning_oracle.py --device cuda --repeats 3 2>&1 | tee "$OUT/bench_oracle.log"
$PY benchmarks/bench_unlearning_oracle.py --device cuda --repeats 2 --models 256 2>&1 \
  | tee -a "$OUT/bench_oracle.log"
# shellcheck disable=SC2086
$PY -m theorylab.cli verify $UNLEARNING --scale full --device cuda --jobs 9 --out "$OUT/full" \
  --no-progress > "$OUT/verify_full.log" 2>&1
$PY -m theorylab.cli verify --all --scale smoke --device cuda --jobs 12 --out "$OUT/smoke" \
  --no-progress > "$OUT/verify_smoke.log" 2>&1
tail -3 "$OUT/verify_full.log" "$OUT/verify_smoke.log"
