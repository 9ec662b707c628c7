/**
 * Multi-task data: a list of (task name, classification Dataset) held as one union, rows grouped
 * by task, with a task id per row. Training shuffles the union with a seed, so batches mix tasks;
 * the union is uploaded to a backend once per (dataset, model task list) and batches are gathered
 * there by index.
 *
 * ```ts
 * const data = MultitaskDataset.fromTasks([{ name: 'mnist', data: mnistTrain }, { name: 'kmnist', data: kmnistTrain }]);
 * data.union;    // a Dataset of every row (labels are each task's own)
 * data.taskIds;  // Int32Array: the task index of every row
 * ```
 */
import { Dataset } from '../data/dataset.js';
import { ValidationError } from '../errors.js';
import { memoUpload, type UploadCache } from '../train/device_data.js';
import { type Binding, nativeFor, type BackendName } from '../native/binding.js';
import { describe } from '../util/validate.js';
import { validateTask, type TaskInfo } from './config.js';

export interface TaskData {
  name: string;
  /** A classification Dataset; its numClasses is the task's number of classes. */
  data: Dataset;
}

export interface TaskEntry extends TaskInfo {
  /** Rows of this task in the union: [offset, offset + n). */
  offset: number;
  n: number;
}

const unions = new WeakMap<Dataset, MultitaskDataset>();

/** Several classification tasks as one union of rows with a task id per row (see the module comment). */
export class MultitaskDataset {
  readonly tasks: readonly TaskEntry[];
  /** Every row of every task, grouped by task in task order. Labels are each task's own. */
  readonly union: Dataset;
  /** Task index (into `tasks`) of every union row. */
  readonly taskIds: Int32Array;
  readonly #views = new Map<string, Dataset>();

  private constructor(tasks: TaskEntry[], union: Dataset, taskIds: Int32Array) {
    this.tasks = Object.freeze(tasks.map((t) => Object.freeze({ ...t })));
    this.union = union;
    this.taskIds = taskIds;
    unions.set(union, this);
  }

  /** Builds the union (one copy of every task's rows). Task names must be unique; input sizes equal. */
  static fromTasks(list: TaskData[]): MultitaskDataset {
    if (!Array.isArray(list) || list.length === 0)
      throw new ValidationError('E_EMPTY', `expected at least one task, got ${describe(list)}`);
    const seen = new Set<string>();
    let inputSize = 0;
    let total = 0;
    const entries: TaskEntry[] = [];
    list.forEach((t, i) => {
      if (!(t?.data instanceof Dataset))
        throw new ValidationError('E_INVALID_ARG', `expected a Dataset for tasks[${i}].data, got ${describe(t?.data)}`);
      if (t.data.targets.kind !== 'classes')
        throw new ValidationError('E_CONFIG', `expected a classification dataset for task '${t.name}'`);
      const info = validateTask({ name: t.name, classes: t.data.outputSize }, `tasks[${i}]`);
      if (seen.has(info.name)) throw new ValidationError('E_CONFIG', `task names must be unique; '${info.name}' appears twice`);
      seen.add(info.name);
      if (i === 0) inputSize = t.data.inputSize;
      else if (t.data.inputSize !== inputSize) {
        throw new ValidationError(
          'E_SHAPE',
          `every task needs the same input size: task '${list[0]!.name}' has ${inputSize}, '${info.name}' has ${t.data.inputSize}`,
        );
      }
      entries.push({ ...info, offset: total, n: t.data.n });
      total += t.data.n;
    });
    const x = new Float32Array(total * inputSize);
    const labels = new Int32Array(total);
    const taskIds = new Int32Array(total);
    list.forEach((t, k) => {
      const e = entries[k]!;
      x.set(t.data.x, e.offset * inputSize);
      labels.set((t.data.targets as { labels: Int32Array }).labels, e.offset);
      taskIds.fill(k, e.offset, e.offset + e.n);
    });
    const maxClasses = Math.max(...entries.map((e) => e.classes));
    const union = Dataset.classification(x, inputSize, labels, maxClasses);
    return new MultitaskDataset(entries, union, taskIds);
  }

  /** The MultitaskDataset whose `union` is `data`, if any. */
  static of(data: Dataset): MultitaskDataset | undefined {
    return unions.get(data);
  }

  get n(): number {
    return this.union.n;
  }
  get inputSize(): number {
    return this.union.inputSize;
  }
  get taskNames(): string[] {
    return this.tasks.map((t) => t.name);
  }

  /** Index of a task by name (E_INVALID_ARG for an unknown name). */
  indexOf(name: string): number {
    const i = this.tasks.findIndex((t) => t.name === name);
    if (i < 0)
      throw new ValidationError('E_INVALID_ARG', `unknown task '${name}'; this dataset has ${this.taskNames.join(', ')}`);
    return i;
  }

  /** One task's rows as a Dataset (a view of the union: no copy). */
  task(name: string): Dataset {
    const e = this.tasks[this.indexOf(name)]!;
    let v = this.#views.get(name);
    if (!v) {
      const I = this.inputSize;
      const labels = (this.union.targets as { labels: Int32Array }).labels;
      v = Dataset.classification(
        this.union.x.subarray(e.offset * I, (e.offset + e.n) * I),
        I,
        labels.subarray(e.offset, e.offset + e.n),
        e.classes,
      );
      this.#views.set(name, v);
    }
    return v;
  }

  /** A new multi-task dataset of some of the tasks, in the order given. */
  select(names: string[]): MultitaskDataset {
    if (!Array.isArray(names) || names.length === 0) throw new ValidationError('E_EMPTY', 'expected at least one task name');
    return MultitaskDataset.fromTasks(names.map((name) => ({ name, data: this.task(name) })));
  }
}

const uploads: UploadCache<MultitaskDataset, Binding.MultitaskDataset> = new WeakMap();

/**
 * The dataset on a backend, with task ids translated to a model's task indices (by name) and the
 * model's class counts. Cached per (dataset, backend, model task list).
 */
export function deviceMultitaskData(
  data: MultitaskDataset,
  backend: BackendName,
  modelTasks: readonly TaskInfo[],
): Promise<Binding.MultitaskDataset> {
  const key = `${backend}\u0000${modelTasks.map((t) => `${t.name}\u0001${t.classes}`).join('\u0000')}`;
  return memoUpload(uploads, data, key, () => {
    const map = data.tasks.map((t) => {
      const k = modelTasks.findIndex((mt) => mt.name === t.name);
      if (k < 0)
        throw new ValidationError(
          'E_INVALID_ARG',
          `unknown task '${t.name}': the model has tasks ${modelTasks.map((mt) => mt.name).join(', ')}`,
        );
      if (modelTasks[k]!.classes !== t.classes) {
        throw new ValidationError(
          'E_CONFIG',
          `task '${t.name}' has ${t.classes} classes in the data and ${modelTasks[k]!.classes} in the model`,
        );
      }
      return k;
    });
    const ids = new Int32Array(data.n);
    for (let i = 0; i < ids.length; i++) ids[i] = map[data.taskIds[i]!] ?? -1; // an id changed after validation: native E_INVALID_ARG
    const labels = (data.union.targets as { labels: Int32Array }).labels;
    const classes = Int32Array.from(modelTasks.map((t) => t.classes));
    return nativeFor(backend).createMultitaskDataset(backend, data.union.x, data.inputSize, labels, ids, classes);
  });
}
