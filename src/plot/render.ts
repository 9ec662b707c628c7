/**
 * Renders Vega-Lite specifications to SVG in Node, with no browser and no canvas: Vega-Lite
 * compiles the spec to Vega, a headless Vega View (renderer 'none') lays it out and serialises
 * the scene graph to SVG markup. Vega is imported lazily, so importing this module is cheap.
 */
import type { TopLevelSpec } from 'vega-lite';
import { writeTextAtomic } from '../util/atomic_write.js';

/** A complete (top-level) Vega-Lite specification. */
export type VegaLiteSpec = TopLevelSpec;

/**
 * Compiles a Vega-Lite spec and renders it to an SVG document (a string starting with `<svg`).
 * Data must be inline (`data: { values }`); nothing is fetched. Vega warnings are discarded.
 */
export async function renderVegaLiteSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const quiet = vega.logger(vega.Error);
  const vgSpec = vegaLite.compile(spec, { logger: quiet }).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logger: quiet });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Writes an SVG document atomically: a temporary file in the same directory renamed over `path`,
 * so readers never see half a file. Failures are E_IO errors naming the path.
 */
export function writeSvg(path: string, svg: string): Promise<void> {
  return writeTextAtomic(path, svg, 'SVG');
}
