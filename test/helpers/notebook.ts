/** Test helper: a notebook host that records what would have been shown instead of sending it to a kernel. */
import type { MimeBundle, NotebookHost } from '../../src/learn/index.js';

/** A host whose `shown` lists display() bundles and `outputs` each live output's updates. */
export function recordingHost(): NotebookHost & { shown: MimeBundle[]; outputs: MimeBundle[][] } {
  const shown: MimeBundle[] = [];
  const outputs: MimeBundle[][] = [];
  return {
    name: 'recorder', shown, outputs,
    display: (bundle) => { shown.push(bundle); },
    live: () => { const updates: MimeBundle[] = []; outputs.push(updates); return { update: (bundle) => { updates.push(bundle); } }; },
  };
}
