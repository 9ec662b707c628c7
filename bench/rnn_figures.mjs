// The RNN figures of docs/rnn.md, reproduced by running the `biaslearn rnn` CLI (and the
// train-step benchmark) one after another. Each run writes its folder under
// bench/results/rnn-figures/<name>/ (model.blck, metrics.json, SVGs); the summary with the exact
// commands goes to bench/results/rnn-figures.json.
//
// Usage: node bench/rnn_figures.mjs [--only cosine,lorenz,vanderpol,reaching,rules,mackey,bench]
//        [--threads N]
// Takes CPU minutes (about 30 on 2 cores); run it in the background, e.g.
//   nice node bench/rnn_figures.mjs > bench/results/rnn-figures.log 2>&1 &
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineInfo } from './machine.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const only = arg('only', 'cosine,rules,vanderpol,reaching,lorenz,mackey,bench').split(',');
const threads = arg('threads', undefined);
const root = 'bench/results/rnn-figures';
const summaryPath = 'bench/results/rnn-figures.json';
mkdirSync(root, { recursive: true });
const summary = existsSync(summaryPath) ? JSON.parse(readFileSync(summaryPath, 'utf8')) : { figures: {} };
summary.machine = machineInfo();

function save() {
  summary.updated = new Date().toISOString();
  writeFileSync(`${summaryPath}.tmp`, `${JSON.stringify(summary, null, 2)}\n`);
  renameSync(`${summaryPath}.tmp`, summaryPath);
}

/** Runs `biaslearn rnn <args> --out <root>/<name> --quiet`; returns metrics.json and the command line. */
function rnn(name, args, { keepSvgs = true } = {}) {
  const out = join(root, name);
  rmSync(out, { recursive: true, force: true });
  const full = ['rnn', ...args, '--out', out, '--quiet', ...(threads ? ['--threads', threads] : [])];
  const command = `biaslearn ${full.join(' ')}`;
  console.log(`\n$ ${command}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['dist/cli/main.js', ...full], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  process.stdout.write(r.stdout);
  if (r.status !== 0) {
    process.stdout.write(r.stderr);
    throw new Error(`${command} exited with ${r.status}`);
  }
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  if (!keepSvgs) for (const f of ['loss.svg', 'eigenvalues.svg']) rmSync(join(out, f), { force: true });
  return { command, metrics, wallSeconds: (Date.now() - t0) / 1000 };
}

const brief = (m) => ({
  trainSeconds: m.timings.trainSeconds,
  finalTrainLoss: m.history.history.loss.at(-1),
  summary: m.summary,
});

if (only.includes('cosine')) {
  const r = rnn('cosine', ['--task', 'cosine', '--hidden', '200', '--train', 'bias', '--learn-state', '--rule', 'bptt']);
  summary.figures.cosine = {
    goal: 'cosine generation, 200 hidden units, bias-only + initial state: NMSE < 0.05 over 4 periods of free running',
    command: r.command,
    nmse4Periods: r.metrics.evaluation.test.nmse,
    nmse8Periods: r.metrics.evaluation.extended.nmse,
    r2: r.metrics.evaluation.test.r2,
    fixedPoint: r.metrics.dynamics?.fixedPoint,
    jacobianSpectralRadius: r.metrics.dynamics?.fixedPointJacobian.spectralRadius,
    ...brief(r.metrics),
    files: ['trajectories.svg', 'eigenvalues.svg', 'loss.svg'].map((f) => join(root, 'cosine', f)),
  };
  save();
}

if (only.includes('rules')) {
  const rows = [];
  for (const rule of ['bptt', 'tbptt:1', 'rflo', 'tbptt:10', 'rflo:sym', 'rflo:batch']) {
    const name = `cosine-${rule.replace(/:/g, '-')}`;
    // every rule runs here, back to back, so the wall times compare
    const r = rnn(
      name,
      ['--task', 'cosine', '--hidden', '200', '--train', 'bias', '--learn-state', '--rule', rule, '--eigen', 'off'],
      { keepSvgs: false },
    );
    const m = r.metrics;
    const stepsPerEpoch = rule.startsWith('rflo') && !rule.includes('batch') ? m.task.steps : 1;
    rows.push({
      rule,
      command: r.command,
      nmse4Periods: m.evaluation.test.nmse,
      nmse8Periods: m.evaluation.extended.nmse,
      trainSeconds: m.timings.trainSeconds,
      optimizerSteps: m.history.epoch.length * stepsPerEpoch,
    });
  }
  summary.figures.rules = {
    goal: 'RFLO against BPTT and tBPTT(1) on the cosine task (bias + initial state, 200 units, 1500 epochs): final error and wall time',
    rows,
  };
  save();
}

if (only.includes('vanderpol')) {
  const rows = [];
  for (const g of ['0.5', '0.8', '1.0', '1.5', '2.0']) {
    for (const train of ['bias', 'full']) {
      const r = rnn(`vanderpol-g${g}-${train}`, ['--task', 'vanderpol', '--gain', g, '--train', train, '--eigen', 'off'], {
        keepSvgs: false,
      });
      rows.push({
        gain: Number(g),
        train,
        command: r.command,
        nmse: r.metrics.evaluation.test.nmse,
        nmseExtended: r.metrics.evaluation.extended.nmse,
        finalTrainLoss: r.metrics.history.history.loss.at(-1),
        trainSeconds: r.metrics.timings.trainSeconds,
      });
      summary.figures.vanderpol = {
        goal: 'Van der Pol generation, gain g in {0.5, 0.8, 1.0, 1.5, 2.0}: final error for bias-only (+ initial state) and full training',
        rows,
      };
      save();
    }
  }
}

if (only.includes('reaching')) {
  const r = rnn('reaching', ['--task', 'reaching', '--train', 'bias', '--learn-state', '--rule', 'bptt']);
  const e = r.metrics.evaluation;
  summary.figures.reaching = {
    goal: 'centre-out reaching: final position error on the 8 trained targets and on 8 unseen targets between them (radius 1)',
    command: r.command,
    finalErrorTrained: e.train.finalError,
    finalErrorUnseen: e.test.finalError,
    holdSpeedTrained: e.train.holdSpeed,
    perTargetTrained: e.train.perTarget,
    perTargetUnseen: e.test.perTarget,
    ...brief(r.metrics),
    files: [join(root, 'reaching', 'trajectories.svg')],
  };
  save();
}

if (only.includes('lorenz')) {
  const r = rnn('lorenz', ['--task', 'lorenz', '--hidden', '1024', '--train', 'bias', '--rule', 'bptt']);
  const e = r.metrics.evaluation;
  summary.figures.lorenz = {
    goal: 'Lorenz, 1024 units, bias-only, teacher-forced forecast of x(t + 27): R^2 >= 0.9 on held-out time; closed loop reported too',
    command: r.command,
    teacherForcedR2: e.teacherForced.r2,
    teacherForcedNmse: e.teacherForced.nmse,
    closedLoopR2: e.closedLoop.r2,
    closedLoopNmse: e.closedLoop.nmse,
    closedLoopFirstTauR2: e.closedLoopFirstTau?.r2,
    trainR2: e.train.r2,
    ...brief(r.metrics),
    files: ['trajectories.svg', 'eigenvalues.svg'].map((f) => join(root, 'lorenz', f)),
  };
  save();
}

if (only.includes('mackey')) {
  const r = rnn('mackey-glass', ['--task', 'mackey-glass', '--train', 'bias', '--rule', 'bptt', '--eigen', 'off']);
  const e = r.metrics.evaluation;
  summary.figures.mackeyGlass = {
    command: r.command,
    teacherForcedR2: e.teacherForced.r2,
    closedLoopR2: e.closedLoop.r2,
    closedLoopFirstTauR2: e.closedLoopFirstTau?.r2,
    ...brief(r.metrics),
  };
  save();
}

if (only.includes('bench')) {
  const command = 'node bench/rnn_train_step.mjs --widths 256,1024,4096 --modes bias,full --steps 100 --batch 32';
  console.log(`\n$ ${command}`);
  const r = spawnSync(process.execPath, command.split(' ').slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout);
  if (r.status !== 0) throw new Error(`${command} exited with ${r.status}`);
  const b = JSON.parse(readFileSync('bench/results/rnn-train-step-cpu.json', 'utf8'));
  const bias1024 = b.rows.find((x) => x.width === 1024 && x.mode === 'bias');
  summary.figures.trainStep = {
    goal: 'BPTT bias-only train step at m = 1024 at least 40% of the sgemm ceiling of the same run',
    command,
    sgemmCeilingGflops: b.sgemmGflops.ceiling,
    bias1024FractionOfSgemm: bias1024?.fractionOfSgemm,
    rows: b.rows,
    file: 'bench/results/rnn-train-step-cpu.json',
  };
  save();
}
console.log(`\nwrote ${summaryPath}`);
