#!/bin/sh
# Accuracy of weightPrecision 'bf16' against 'fp32' (issue 15, docs/precision.md): the same
# command, seed and settings twice, through the CLI. Not a timing: run it niced on any machine.
#   Fashion-MNIST 784 -> 4096 -> 10, bias only, 5 epochs, batch 256, Adam, cosine (the README figure)
#   --rnn: the Lorenz figure of bench/rnn_figures.mjs (R^2), fp32 vs bf16
#   --multitask: three tasks (MNIST, KMNIST, Fashion-MNIST), bias-only multi-task, fp32 vs bf16
# Results: bench/results/precision/<run>/ (metrics.json of each run) and the summary
# bench/results/precision-accuracy.json (node bench/precision_summary.mjs).
# (In a development checkout set BIASLEARN_DATA=../shared/data for the MNIST / KMNIST test sets, docs/data.md.)
# Usage: nice sh bench/precision_accuracy.sh [--mlp] [--rnn] [--multitask] [--hidden-mt 4096] [--epochs-mt 5]
#        [--hidden-rnn 1024]   (the figures of bench/ use --hidden-mt 8192 --epochs-mt 10; 4096 / 5 is the reduced run)
set -e
cd "$(dirname "$0")/.."
out=bench/results/precision
mkdir -p "$out"
mlp=0; rnn=0; mt=0; hidden_mt=4096; epochs_mt=5; hidden_rnn=1024
[ $# -eq 0 ] && { mlp=1; rnn=1; mt=1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --mlp) mlp=1 ;;
    --rnn) rnn=1 ;;
    --multitask) mt=1 ;;
    --hidden-mt) hidden_mt="$2"; shift ;;
    --epochs-mt) epochs_mt="$2"; shift ;;
    --hidden-rnn) hidden_rnn="$2"; shift ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done
for p in fp32 bf16; do
  if [ $mlp = 1 ]; then
    node dist/cli/main.js train --data fashion-mnist --hidden 4096 --train bias --epochs 5 --batch-size 256 \
      --seed 0 --weight-precision $p --quiet --out "$out/fashion-mnist-4096-$p"
  fi
  if [ $rnn = 1 ]; then
    # the Lorenz run of bench/rnn_figures.mjs
    node dist/cli/main.js rnn --task lorenz --hidden "$hidden_rnn" --train bias --rule bptt --seed 0 --weight-precision $p \
      --quiet --out "$out/rnn-lorenz-$hidden_rnn-$p"
  fi
  if [ $mt = 1 ]; then
    node dist/cli/main.js multitask --tasks mnist,kmnist,fashion-mnist --hidden "$hidden_mt" --train bias \
      --epochs "$epochs_mt" --seed 0 --weight-precision $p --quiet --out "$out/multitask-three-$hidden_mt-$p"
  fi
done
node bench/precision_summary.mjs
