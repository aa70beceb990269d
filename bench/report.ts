/** Turns benchmark samples into BENCHMARKS.md: summary table with ratios and targets, memory table, raw runs. */

/** One worker's RESULT line plus the load other processes put on the machine meanwhile. */
export interface Sample {
  framework: 'kestrel' | 'pytorch';
  workload: string;
  threads: number;
  trainSamplesPerSec?: number;
  inferSamplesPerSec?: number;
  trainSeconds?: number;
  inferSeconds?: number;
  loss?: number;
  accuracy?: number;
  rssMb: number;
  peakRssMb: number;
  cpuSeconds: number;
  otherCores: number;
  torchVersion?: string;
  epochs?: EpochMemory[];
}

/** Memory at the end of one epoch of the flatness run. */
export interface EpochMemory { epoch: number; loss: number; seconds: number; rssMb: number; liveTensors: number; inUseMb: number; cachedMb: number }

/** A workload: the commands of each side and the samples collected. */
export interface Run {
  workload: string;
  pairs: boolean;
  kestrel: [string, string[]];
  pytorch?: [string, string[]];
  samples: Sample[];
}

/** Facts about the machine and software, printed above the tables. */
export interface Machine {
  cpu: string; nproc: number; memoryGb: number; node: string; libtorch: string;
  kestrelThreads: number; cachingAllocator: boolean; pytorch: string; date: string;
}

const best = (values: number[]) => Math.max(...values);
const median = (values: number[]) => { const s = [...values].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (v: number, digits = 0) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

interface Row { workload: string; metric: string; kestrel: number; pytorch: number; digits: number; target?: { op: '>=' | '<='; value: number } }

function rows(run: Run): Row[] {
  const k = run.samples.filter((s) => s.framework === 'kestrel');
  const p = run.samples.filter((s) => s.framework === 'pytorch');
  const pick = (list: Sample[], f: (s: Sample) => number | undefined, how: (v: number[]) => number) => how(list.map(f).filter((v): v is number => v !== undefined));
  const trainTarget = run.workload === 'mnist-cnn' ? 1.15 : 1.0;
  const out: Row[] = [
    { workload: run.workload, metric: 'train samples/s (best)', kestrel: pick(k, (s) => s.trainSamplesPerSec, best), pytorch: pick(p, (s) => s.trainSamplesPerSec, best), digits: 0, target: { op: '>=', value: trainTarget } },
    { workload: run.workload, metric: 'train samples/s (median)', kestrel: pick(k, (s) => s.trainSamplesPerSec, median), pytorch: pick(p, (s) => s.trainSamplesPerSec, median), digits: 0 },
    { workload: run.workload, metric: 'inference samples/s (best)', kestrel: pick(k, (s) => s.inferSamplesPerSec, best), pytorch: pick(p, (s) => s.inferSamplesPerSec, best), digits: 0, target: { op: '>=', value: 1.0 } },
    { workload: run.workload, metric: 'inference samples/s (median)', kestrel: pick(k, (s) => s.inferSamplesPerSec, median), pytorch: pick(p, (s) => s.inferSamplesPerSec, median), digits: 0 },
    { workload: run.workload, metric: 'peak RSS MB (median)', kestrel: pick(k, (s) => s.peakRssMb, median), pytorch: pick(p, (s) => s.peakRssMb, median), digits: 0, target: { op: '<=', value: 1.2 } },
  ];
  if (k.some((s) => s.accuracy !== undefined)) {
    out.push({ workload: run.workload, metric: 'test accuracy after the epoch (sanity)', kestrel: pick(k, (s) => s.accuracy, median), pytorch: pick(p, (s) => s.accuracy, median), digits: 3 });
  } else {
    out.push({ workload: run.workload, metric: 'last loss (sanity, same init and data)', kestrel: pick(k, (s) => s.loss, median), pytorch: pick(p, (s) => s.loss, median), digits: 4 });
  }
  return out;
}

function memorySection(run: Run): string[] {
  const epochs = run.samples[0]?.epochs ?? [];
  if (epochs.length === 0) return [];
  const later = epochs.slice(1);
  const rss = later.map((e) => e.rssMb);
  const live = new Set(later.map((e) => e.liveTensors));
  const spread = Math.max(...rss) - Math.min(...rss);
  const flat = live.size === 1 && spread <= Math.max(8, 0.02 * Math.max(...rss));
  return [
    `## Memory flatness (Kestrel, mnist-cnn, ${epochs.length} epochs)`, '',
    '| epoch | loss | seconds | RSS MB | live tensors | allocator in use MB | allocator cached MB |', '|---:|---:|---:|---:|---:|---:|---:|',
    ...epochs.map((e) => `| ${e.epoch} | ${fmt(e.loss, 4)} | ${fmt(e.seconds, 1)} | ${fmt(e.rssMb, 1)} | ${e.liveTensors} | ${fmt(e.inUseMb, 1)} | ${fmt(e.cachedMb, 1)} |`),
    '',
    `Epochs 2-${epochs.length}: RSS spread ${fmt(spread, 1)} MB (${fmt(Math.min(...rss), 1)}-${fmt(Math.max(...rss), 1)}), live tensors ${[...live].join(', ')}. ` +
      `**${flat ? 'Flat' : 'NOT flat'}** (target: live tensors constant, RSS within max(8 MB, 2%)).`, '',
  ];
}

/** The whole BENCHMARKS.md text. */
export function renderReport(command: string, machine: Machine, runs: Run[], quick: boolean): string {
  const table = runs.filter((r) => r.pairs).flatMap(rows);
  const lines = [
    '# Benchmarks', '',
    `Generated by \`${command}\` (bench/run.ts) on ${machine.date}${quick ? ' — **quick mode: small samples, indicative only**' : ''}.`, '',
    '## Machine', '',
    `- CPU: ${machine.cpu}, nproc ${machine.nproc}, ${fmt(machine.memoryGb, 1)} GiB RAM`,
    `- Node ${machine.node}; Kestrel on libtorch ${machine.libtorch}, ${machine.kestrelThreads} threads, caching allocator ${machine.cachingAllocator ? 'on' : 'off'}`,
    `- Reference: PyTorch/torchvision ${machine.pytorch} (/usr/bin/python3), torch.set_num_threads(${machine.nproc})`,
    '- Each side runs in its own process, alternating, on the same data; throughput is best-of-runs (least disturbed by other load), RSS the median of VmHWM.', '',
    '## Results', '',
    '| workload | metric | Kestrel | PyTorch | Kestrel/PyTorch | target | met |', '|---|---|---:|---:|---:|---:|:---:|',
    ...table.map((r) => {
      const ratio = r.kestrel / r.pytorch;
      const met = r.target ? ((r.target.op === '>=' ? ratio >= r.target.value : ratio <= r.target.value) ? 'yes' : '**no**') : '';
      return `| ${r.workload} | ${r.metric} | ${fmt(r.kestrel, r.digits)} | ${fmt(r.pytorch, r.digits)} | ${fmt(ratio, 2)} | ${r.target ? `${r.target.op} ${r.target.value}` : ''} | ${met} |`;
    }),
    '',
    'Workloads: **mnist-cnn** = src/vision/simple.ts mnistCnn on Fashion-MNIST (60k train, one full epoch after a warm-up; 10k test for inference), batch 256, Adam lr 1e-3, cross-entropy; PyTorch side idiomatic (TensorDataset + DataLoader(shuffle=True), nn.Sequential, torch.optim.Adam). ' +
      '**resnet18** = torchvision-shaped ResNet-18, 10 classes, synthetic 3x64x64 images (4 batches cycled, same seed both sides), batch 64, SGD lr 0.01 momentum 0.9.', '',
    ...runs.filter((r) => !r.pairs).flatMap(memorySection),
    '## All runs', '',
    '| workload | side | train /s | inference /s | peak RSS MB | CPU s | other load (cores) |', '|---|---|---:|---:|---:|---:|---:|',
    ...runs.flatMap((r) => r.samples.map((s) => `| ${r.workload} | ${s.framework} | ${s.trainSamplesPerSec ? fmt(s.trainSamplesPerSec) : ''} | ${s.inferSamplesPerSec ? fmt(s.inferSamplesPerSec) : ''} | ${fmt(s.peakRssMb)} | ${fmt(s.cpuSeconds, 1)} | ${fmt(s.otherCores, 2)} |`)),
    '',
    '"other load" is CPU time used by other processes during the run, in cores; above ~0.1 the machine was shared and the numbers are disturbed.', '',
  ];
  return lines.join('\n');
}
