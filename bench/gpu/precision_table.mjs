// The GPU table of issue 15: biaslearn's bias step in fp32 / tf32 / bf16 (precision-step-cuda.json
// from bench/precision_step.mjs --backend cuda) beside PyTorch eager fp32 and torch.autocast bf16
// on the same model (torch-precision.jsonl from bench/torch_mlp_bias.py --precisions fp32,bf16).
// Targets at width 16384, batch 1024: fp32 >= 70% of the sgemm-bound rate and >= 1.5x PyTorch
// eager; bf16 >= 4x biaslearn fp32 and >= 1.5x PyTorch autocast bf16.
// Usage: node bench/gpu/precision_table.mjs <precision-step-cuda.json> <torch-precision.jsonl> [out.json]
import { readFileSync, writeFileSync } from 'node:fs';

const [stepPath, torchPath, outPath] = process.argv.slice(2);
const step = JSON.parse(readFileSync(stepPath, 'utf8'));
const torchLines = readFileSync(torchPath, 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));
const torchInfo = torchLines.find((l) => l.info)?.info ?? null;
const torchRate = (w, b, p) =>
  torchLines.find((l) => l.width === w && l.batch === b && l.mode === 'bias' && l.precision === p)?.samplesPerSec;

const rows = step.rows.map((r) => {
  const tf = torchRate(r.width, r.batch, 'fp32');
  const tb = torchRate(r.width, r.batch, 'bf16');
  return {
    width: r.width,
    batch: r.batch,
    fp32: r.fp32SamplesPerSec,
    tf32: r.tf32SamplesPerSec,
    bf16: r.bf16SamplesPerSec,
    fp32FractionOfSgemmBound: r.fp32FractionOfSgemmBound,
    bf16OverFp32: r.bf16SamplesPerSec / r.fp32SamplesPerSec,
    torchEagerFp32: tf,
    torchAutocastBf16: tb,
    fp32OverTorch: tf ? r.fp32SamplesPerSec / tf : null,
    bf16OverTorchAutocast: tb ? r.bf16SamplesPerSec / tb : null,
  };
});
const key = rows.find((r) => r.width === 16384 && r.batch === 1024);
const targets = key
  ? {
      fp32Of70PctSgemmBound: key.fp32FractionOfSgemmBound >= 0.7,
      fp32Over1_5xTorch: key.fp32OverTorch !== null && key.fp32OverTorch >= 1.5,
      bf16Over4xFp32: key.bf16OverFp32 >= 4,
      bf16Over1_5xAutocast: key.bf16OverTorchAutocast !== null && key.bf16OverTorchAutocast >= 1.5,
    }
  : null;
const result = { gpu: torchInfo?.device ?? null, torch: torchInfo, peakGflops: step.peakGflops, targets, rows };
if (outPath) writeFileSync(outPath, `${JSON.stringify(result, null, 2)}\n`);
const f = (v, d = 0) => (v === undefined || v === null ? 'n/a' : v.toFixed(d));
console.log(`GPU: ${result.gpu}; sgemm peak ${f(step.peakGflops.fp32)} GFLOP/s, bf16 product ${f(step.peakGflops.bf16)} GFLOP/s`);
console.log(
  '| width | batch | fp32 | tf32 | bf16 | fp32 of sgemm-bound | bf16 / fp32 | torch eager fp32 | torch autocast bf16 | fp32 / torch | bf16 / autocast |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r.width} | ${r.batch} | ${f(r.fp32)} | ${f(r.tf32)} | ${f(r.bf16)} | ${f(100 * r.fp32FractionOfSgemmBound)}% | ${f(r.bf16OverFp32, 2)}x | ${f(r.torchEagerFp32)} | ${f(r.torchAutocastBf16)} | ${f(r.fp32OverTorch, 2)}x | ${f(r.bf16OverTorchAutocast, 2)}x |`,
  );
console.log(`targets at 16384 x 1024: ${JSON.stringify(targets)}`);
