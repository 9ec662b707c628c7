#!/usr/bin/env bash
# Builds the CUDA module on a GPU machine without network or node_modules, then runs the stages
# named on the command line, leaving logs and JSON in $OUT (default ./gpu-out):
#   tests      the CUDA test files (vitest from .devtools/node_modules.tar.xz)
#   mlp        MLP train-step benchmark (cuda) + PyTorch eager baseline
#   rnn        BPTT train-step benchmark (cuda) + PyTorch eager baseline
#   multitask  7-task mixed batch vs single-task batch throughput (cuda)
#   mpi        data-parallel MLP on the cuda backend: 2 MPI ranks sharing the GPU against 1 process
#              (needs mpirun and libmpi on the machine: apt-get install libopenmpi-dev openmpi-bin,
#              before the build so biaslearn_mpi.node is built), and the NCCL path with 1 rank
#              (NCCL_ROOT=<nvidia-nccl wheel>/nvidia/nccl; the collective runs even with one rank)
#   precision  issue 15: the bias step in fp32 / tf32 / bf16 (bench/precision_step.mjs --backend cuda,
#              widths 1024..65536 x batches 256..4096) beside PyTorch eager fp32 and autocast bf16
#              (bench/torch_mlp_bias.py), merged by bench/gpu/precision_table.mjs into
#              $OUT/precision-table.{json,md}
# Issue 15 in one call (build, CUDA tests with the bf16 ones, every benchmark of the issue):
#   bash bench/gpu/run_on_device.sh tests precision
# Expects .devtools/ (git-ignored) with node.xz (xz-compressed node binary), include/node
# (Node-API headers), node-addon-api (headers), node_modules.tar.xz, and dist/ (compiled TS).
# Example (as run for bench/results/gpu/): bash bench/gpu/run_on_device.sh tests mlp rnn multitask
set -uo pipefail
stages=${*:-tests mlp}
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
xz -dc .devtools/node.xz > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$OUT/gpu.txt" 2>&1
CUBLAS_ROOT=$(python3 -c "import nvidia, os; p = os.path.join(list(nvidia.__path__)[0], 'cu13'); print(p if os.path.isdir(p) else os.path.join(list(nvidia.__path__)[0], 'cublas'))")
echo "cublas root: $CUBLAS_ROOT" | tee "$OUT/build.log"
t0=$(date +%s)
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DBIASLEARN_CUDA=ON -DBIASLEARN_NATIVE_ARCH=ON \
  -DNODE_API_INC=$PWD/.devtools/include/node -DNODE_ADDON_API_INC=$PWD/.devtools/node-addon-api \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DBIASLEARN_CUBLAS_ROOT="$CUBLAS_ROOT" ${NCCL_ROOT:+-DBIASLEARN_NCCL_ROOT=$NCCL_ROOT} >> "$OUT/build.log" 2>&1 \
  && cmake --build build-cuda -j16 >> "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
echo "build seconds: $(( $(date +%s) - t0 ))"
export BIASLEARN_BUILD_DIR=$PWD/build-cuda
S=${SECONDS_PER:-1.5}
# dist/ imports the package's dependencies (vega, ml-matrix, ...): every stage needs node_modules
[ -d node_modules ] || tar -xJf .devtools/node_modules.tar.xz
for stage in $stages; do
  case $stage in
    tests)
      node node_modules/vitest/vitest.mjs run test/cuda.backend.test.ts test/cuda.extensions.test.ts test/core.kernels.test.ts \
        test/core.fused.test.ts test/core.reference.test.ts test/core.weights.test.ts test/core.bf16.test.ts \
        test/core.precision.test.ts test/cuda.precision.test.ts ${EXTRA_TESTS:-} > "$OUT/tests.log" 2>&1
      echo "tests exit: $?"; grep -E "Test Files|Tests |✗|FAIL|×|skipped" "$OUT/tests.log" | head -30 ;;
    mlp)
      node bench/mlp_train_step.mjs --backend cuda --widths ${WIDTHS:-1024,4096,16384,65536} --batches ${BATCHES:-256,1024,4096} \
        --modes bias,bias+cache,full --seconds $S --square 8192 --out "$OUT/mlp-train-step-cuda.json" 2> "$OUT/mlp-progress.log" | tee "$OUT/mlp-train-step-cuda.md"
      python3 bench/torch_mlp_bias.py --widths ${WIDTHS:-1024,4096,16384,65536} --batches ${BATCHES:-256,1024,4096} \
        --seconds $S > "$OUT/torch-mlp.jsonl" 2>&1; cat "$OUT/torch-mlp.jsonl" ;;
    mpi)
      export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      DP_BACKEND=cuda timeout 300 mpirun -np 2 --oversubscribe --bind-to none node test/mpi/dp_train.mjs mlp "$OUT/dp-cuda-2.json" > "$OUT/mpi.log" 2>&1
      echo "mpi 2 ranks exit: $?"
      DP_BACKEND=cuda timeout 300 node test/mpi/dp_train.mjs mlp "$OUT/dp-cuda-1.json" >> "$OUT/mpi.log" 2>&1
      echo "1 process exit: $?"
      BIASLEARN_FORCE_COLLECTIVE=1 DP_NCCL=1 DP_BACKEND=cuda timeout 300 mpirun -np 1 --bind-to none node test/mpi/dp_train.mjs mlp "$OUT/dp-nccl-1.json" >> "$OUT/mpi.log" 2>&1
      echo "nccl 1 rank exit: $?"
      node -e "const [a,b]=['dp-nccl-1','dp-cuda-1'].map(f=>require('$OUT/'+f+'.json'));let m=0;for(const k in a.tensors)a.tensors[k].forEach((v,i)=>{m=Math.max(m,Math.abs(v-b.tensors[k][i]))});console.log('nccl 1 rank: max |nccl - 1 process|:',m)" | tee -a "$OUT/mpi.log"
      node -e "const [a,b]=['dp-cuda-2','dp-cuda-1'].map(f=>require('$OUT/'+f+'.json'));let m=0;for(const k in a.tensors)a.tensors[k].forEach((v,i)=>{m=Math.max(m,Math.abs(v-b.tensors[k][i]))});console.log('ranks identical:',a.hashes[0]===a.hashes[1],'max |2 ranks - 1 process|:',m,'comm:',JSON.stringify(a.comm))" | tee -a "$OUT/mpi.log" ;;
    rnn)
      node bench/rnn_train_step.mjs --backend cuda --widths 1024,4096 --batch 64 --steps 100 --seconds 3 \
        --out "$OUT/rnn-train-step-cuda.json" 2>&1 | tee "$OUT/rnn-train-step-cuda.md"
      python3 bench/torch_rnn_bias.py --hidden 1024,4096 --T 100 --batch 64 --seconds 3 > "$OUT/torch-rnn.jsonl" 2>&1; cat "$OUT/torch-rnn.jsonl" ;;
    multitask)
      node bench/multitask_throughput.mjs --backend cuda --widths 4096,16384 --batch 1024 --seconds 1 --rounds 3 \
        --out "$OUT/multitask-throughput-cuda.json" 2>&1 | tail -12 | tee "$OUT/multitask-throughput-cuda.md" ;;
    precision)
      node bench/precision_step.mjs --backend cuda --widths ${WIDTHS:-1024,4096,16384,65536} \
        --batches ${BATCHES:-256,1024,4096} --precisions fp32,tf32,bf16 --seconds $S \
        --out "$OUT/precision-step-cuda.json" 2> "$OUT/precision-progress.log" | tee "$OUT/precision-step-cuda.md"
      python3 bench/torch_mlp_bias.py --widths ${WIDTHS:-1024,4096,16384,65536} --batches ${BATCHES:-256,1024,4096} \
        --precisions fp32,bf16 --no-full --seconds $S > "$OUT/torch-precision.jsonl" 2>&1
      node bench/gpu/precision_table.mjs "$OUT/precision-step-cuda.json" "$OUT/torch-precision.jsonl" \
        "$OUT/precision-table.json" | tee "$OUT/precision-table.md" ;;
  esac
done
