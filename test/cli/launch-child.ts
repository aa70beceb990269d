/** Child of the `kestrel launch` test: joins the job, sums rank + 1 over the ranks, and rank 0 writes what it saw. */
import { writeFileSync } from 'node:fs';
import { destroyProcessGroup, initProcessGroup, runtimeInfo, tensor } from '../../src/index.js';

const group = await initProcessGroup();
const t = tensor([group.rank + 1]);
await group.allReduce(t);
if (group.rank === 0) {
  writeFileSync(process.env.OUT!, JSON.stringify({ sum: t.item(), worldSize: group.worldSize, args: process.argv.slice(2), threads: runtimeInfo().threads }));
}
await destroyProcessGroup();
