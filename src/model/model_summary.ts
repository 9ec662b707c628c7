/**
 * The tensor tables behind `summary()` / `toString()` of the three model kinds (MLP, RNN,
 * multi-task MLP), from their resolved configurations and the native model's learned tensors.
 */
import type { MultitaskModel } from '../multitask/model.js';
import type { RNN } from '../rnn/rnn.js';
import { formatRule } from '../rnn/config.js';
import type { MLP } from './mlp.js';
import { countValues, formatSummary, type SummaryTensor } from './summary.js';

function fmtLr(lr: number): string {
  return Number(lr.toPrecision(3)).toString();
}

function optimizerText(o: { type: string; lr: number }): string {
  return `${o.type} lr ${fmtLr(o.lr)}`;
}

function counts(tensors: SummaryTensor[]): string {
  const { learned, frozen } = countValues(tensors);
  return `${learned.toLocaleString('en-US')} learned / ${frozen.toLocaleString('en-US')} frozen`;
}

function mlpTensors(m: MLP): SummaryTensor[] {
  return m.config.layers.flatMap((l, i) => [
    { name: `layers.${i}.weight`, shape: [l.out, l.in], learned: l.trainWeight, note: l.activation },
    { name: `layers.${i}.bias`, shape: [l.out], learned: l.trainBias },
  ]);
}

function mlpArch(m: MLP): string {
  return [m.inputSize, ...m.config.layers.map((l) => l.out)].join('-');
}

function trainText(t: unknown): string {
  return typeof t === 'string' ? t : 'custom';
}

/** The summary table of an MLP. */
export function mlpSummary(m: MLP): string {
  return formatSummary({
    title: `MLP ${mlpArch(m)}`,
    tensors: mlpTensors(m),
    seed: m.config.seed,
    backend: m.backend,
    details: [
      ['Loss', m.config.loss],
      ['Train', trainText(m.config.train)],
      ['Optimizer', optimizerText(m.config.optimizer)],
    ],
  });
}

export function mlpToString(m: MLP): string {
  const act = m.config.layers[0]!.activation;
  return `MLP(${mlpArch(m)}, ${act}, train ${trainText(m.config.train)}, ${counts(mlpTensors(m))}, seed ${m.config.seed}, ${m.backend})`;
}

function rnnTensors(r: RNN): SummaryTensor[] {
  return r.tensors().map((t) => ({ name: t.name, shape: t.rows === 1 ? [t.cols] : [t.rows, t.cols], learned: t.trainable }));
}

/** The summary table of an RNN. */
export function rnnSummary(r: RNN): string {
  const c = r.config;
  return formatSummary({
    title: `RNN ${c.inputSize}-${c.hidden}-${c.outputSize} (${c.activation}, decay ${c.decay}, gain ${c.gain}, recurrent gain ${c.recurrentGain})`,
    tensors: rnnTensors(r),
    seed: c.seed,
    backend: r.backend,
    details: [
      ['Train', c.train],
      ['Rule', formatRule(c.rule)],
      ['Optimizer', optimizerText(c.optimizer)],
    ],
  });
}

export function rnnToString(r: RNN): string {
  const c = r.config;
  return `RNN(${c.inputSize}-${c.hidden}-${c.outputSize}, ${c.activation}, train ${c.train}, ${counts(rnnTensors(r))}, seed ${c.seed}, ${r.backend})`;
}

function multitaskTensors(m: MultitaskModel): SummaryTensor[] {
  const c = m.config;
  const learned = new Map(m.learnedTensors().map((t) => [t.name, t]));
  const sizes = [c.inputSize, ...c.hidden];
  const K = c.tasks.length;
  const out: SummaryTensor[] = [];
  const add = (name: string, shape: number[]): void => {
    const l = learned.get(name);
    if (l)
      out.push({ name, shape: l.perTask ? [l.rows, l.cols] : shape, learned: true, ...(l.perTask ? { note: 'per task' } : {}) });
    else out.push({ name, shape, learned: false });
  };
  for (let l = 0; l < c.hidden.length; l++) {
    add(`layers.${l}.weight`, [sizes[l + 1]!, sizes[l]!]);
    add(`layers.${l}.bias`, [sizes[l + 1]!]);
  }
  const classes = c.tasks.map((t) => t.classes);
  const R = c.readout === 'shared' ? Math.max(...classes) : classes.reduce((a, b) => a + b, 0);
  add('readout.weight', [R, c.hidden[c.hidden.length - 1]!]);
  add('readout.bias', [R]);
  // Learned tensors not named above (gates, per-task biases): listed as the model reports them.
  for (const [name, t] of learned)
    if (!out.some((o) => o.name === name))
      out.push({ name, shape: [t.rows, t.cols], learned: true, note: t.perTask ? `per task (${K})` : '' });
  return out;
}

/** The summary table of a multi-task MLP. */
export function multitaskSummary(m: MultitaskModel): string {
  const c = m.config;
  return formatSummary({
    title: `MultitaskModel ${c.inputSize}-${c.hidden.join('-')}, ${c.tasks.length} tasks (${c.tasks.map((t) => `${t.name}: ${t.classes}`).join(', ')})`,
    tensors: multitaskTensors(m),
    seed: c.seed,
    backend: m.backend,
    details: [
      ['Train', c.train],
      ['Readout', c.readout],
      ['Optimizer', optimizerText(c.optimizer)],
    ],
  });
}

export function multitaskToString(m: MultitaskModel): string {
  const c = m.config;
  return `MultitaskModel(${c.inputSize}-${c.hidden.join('-')}, ${c.tasks.length} tasks, train ${c.train}, ${counts(multitaskTensors(m))}, seed ${c.seed}, ${m.backend})`;
}
