/**
 * Progress of dataset loading on stderr: on a TTY one status line (bytes read of every split being
 * loaded, redrawn at most every 100 ms), otherwise one line per split up front, once the sizes of
 * its files are known ("loading Fashion-MNIST train (26.4 MB) from <dir>").
 */
import type { ReadProgress } from '../data/idx.js';
import type { OutStream } from './io.js';

/** Bytes as "26.4 MB" / "7.8 kB" / "12 B". */
export function formatBytes(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

interface Split {
  what: string;
  where: string;
  /** Files the split reads; its line is printed once all have reported. */
  fileCount: number;
  files: Map<string, { done: number; total: number }>;
  announced: boolean;
}

const REDRAW_MS = 100;

/** One display for every split a command loads (splits may load concurrently). */
export class DataLoadDisplay {
  private readonly splits: Split[] = [];
  private drawn = false;
  private lastDraw = 0;

  constructor(private readonly out: OutStream) {}

  /** The onProgress callback of one split: `what` names it ("MNIST test"), `where` its folder or file. */
  reporter(what: string, where: string, fileCount = 2): (progress: ReadProgress) => void {
    const split: Split = { what, where, fileCount, files: new Map(), announced: false };
    this.splits.push(split);
    return (p) => {
      split.files.set(p.file, { done: p.bytesDone, total: p.bytesTotal });
      if (split.files.size < split.fileCount) return;
      if (this.out.isTTY === true) this.draw(false);
      else if (!split.announced) {
        split.announced = true;
        this.out.write(`loading ${split.what} (${formatBytes(sizeOf(split).total)}) from ${split.where}\n`);
      }
    };
  }

  /** Ends the TTY status line (drawn complete); a no-op otherwise. Call once loading is over, also on errors. */
  finish(): void {
    if (this.drawn) {
      this.draw(true);
      this.out.write('\n');
      this.drawn = false;
    }
  }

  private draw(force: boolean): void {
    const now = Date.now();
    const ready = this.splits.filter((s) => s.files.size >= s.fileCount);
    let done = 0;
    let total = 0;
    for (const s of ready) {
      const z = sizeOf(s);
      done += z.done;
      total += z.total;
    }
    if (!force && done < total && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.drawn = true;
    const names = ready.map((s) => s.what).join(', ');
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    this.out.write(`\r\x1b[2Kloading ${names}: ${formatBytes(done)} / ${formatBytes(total)} (${pct}%)`);
  }
}

function sizeOf(s: Split): { done: number; total: number } {
  let done = 0;
  let total = 0;
  for (const f of s.files.values()) {
    done += f.done;
    total += f.total;
  }
  return { done, total };
}
