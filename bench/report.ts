/** Turns benchmark samples into BENCHMARKS.md: summary table with ratios and targets, memory table, raw runs. */

/** One worker's RESULT line plus the load other processes put on the machine meanwhile. */
export interface Sample {
  framework: 'kestrel' | 'pytorch';
  workload: string;
  threads: number;
  trainSamplesPerSec?: number;
  inferSamplesPerSec?: number;
  /** batch / median step time: robust to bursts of other load. */
  trainStepSamplesPerSec?: number;
  inferStepSamplesPerSec?: number;
  trainSeconds?: number;
  inferSeconds?: number;
  loss?: number;
  accuracy?: number;
  rssMb: number;
  peakRssMb: number;
  processPeakRssMb: number;
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
  /** Whether the workload compares sides (false: Kestrel-only, like the memory run). */
  pairs: boolean;
  /** Side name, command and arguments of each worker. */
  sides: [Sample['framework'], string, string[]][];
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

type Pick = (s: Sample) => number | undefined;
interface Row { workload: string; metric: string; values: Record<Sample['framework'], number>; digits: number; target?: { op: '>=' | '<='; value: number } }

function rows(run: Run): Row[] {
  const row = (metric: string, f: Pick, how: (v: number[]) => number, digits: number, target?: Row['target']): Row => {
    const of = (side: Sample['framework']) => {
      const v = run.samples.filter((s) => s.framework === side).map(f).filter((x): x is number => x !== undefined);
      return v.length ? how(v) : NaN;
    };
    return { workload: run.workload, metric, values: { kestrel: of('kestrel'), pytorch: of('pytorch') }, digits, target };
  };
  const trainTarget = run.workload === 'mnist-cnn' ? 1.15 : 1.0;
  return [
    row('train samples/s over the timed epoch/iterations (best run)', (s) => s.trainSamplesPerSec, best, 0, { op: '>=', value: trainTarget }),
    row('train samples/s (median run)', (s) => s.trainSamplesPerSec, median, 0),
    row('train samples/s from the median step (best run)', (s) => s.trainStepSamplesPerSec, best, 0, { op: '>=', value: trainTarget }),
    row('inference samples/s over the test set/iterations (best run)', (s) => s.inferSamplesPerSec, best, 0, { op: '>=', value: 1.0 }),
    row('inference samples/s (median run)', (s) => s.inferSamplesPerSec, median, 0),
    row('inference samples/s from the median step (best run)', (s) => s.inferStepSamplesPerSec, best, 0, { op: '>=', value: 1.0 }),
    row('peak RSS MB, training + inference (median)', (s) => s.peakRssMb, median, 0, { op: '<=', value: 1.2 }),
    row('peak RSS MB, whole process incl. data loading (median)', (s) => s.processPeakRssMb, median, 0, { op: '<=', value: 1.2 }),
    run.workload === 'mnist-cnn'
      ? row('test accuracy after the epoch (sanity)', (s) => s.accuracy, median, 3)
      : row('last loss (sanity: same init and data)', (s) => s.loss, median, 4),
  ];
}

function cells(r: Row, side: 'kestrel'): string[] {
  const ratio = r.values[side] / r.values.pytorch;
  if (!Number.isFinite(ratio)) return ['', ''];
  const met = r.target ? ((r.target.op === '>=' ? ratio >= r.target.value : ratio <= r.target.value) ? 'yes' : '**no**') : '';
  return [fmt(ratio, 2), met];
}

function memorySection(run: Run): string[] {
  const epochs = run.samples[0]?.epochs ?? [];
  if (epochs.length === 0) return [];
  const later = epochs.slice(1);
  const rss = later.map((e) => e.rssMb);
  const live = new Set(later.map((e) => e.liveTensors));
  const spread = Math.max(...rss) - Math.min(...rss);
  const growth = Math.max(...rss) - rss[0];
  const flat = live.size === 1 && growth <= Math.max(8, 0.02 * rss[0]);
  return [
    `## Memory flatness (Kestrel, mnist-cnn, ${epochs.length} epochs)`, '',
    '| epoch | loss | seconds | RSS MB | live tensors | allocator in use MB | allocator cached MB |', '|---:|---:|---:|---:|---:|---:|---:|',
    ...epochs.map((e) => `| ${e.epoch} | ${fmt(e.loss, 4)} | ${fmt(e.seconds, 1)} | ${fmt(e.rssMb, 1)} | ${e.liveTensors} | ${fmt(e.inUseMb, 1)} | ${fmt(e.cachedMb, 1)} |`),
    '',
    `Epochs 2-${epochs.length}: RSS ${fmt(Math.min(...rss), 1)}-${fmt(Math.max(...rss), 1)} MB (spread ${fmt(spread, 1)}, growth over epoch 2 ${fmt(growth, 1)}), live tensors ${[...live].join(', ')}. ` +
      `**${flat ? 'Flat' : 'NOT flat'}** (target: live tensors constant, no RSS growth beyond max(8 MB, 2%) over epoch 2; RSS sampled after a V8 GC).`, '',
  ];
}

/** The whole BENCHMARKS.md text. */
export function renderReport(command: string, machine: Machine, runs: Run[], quick: boolean): string {
  const table = runs.filter((r) => r.pairs).flatMap(rows);
  const all = runs.flatMap((r) => r.samples);
  const disturbed = all.filter((s) => s.otherCores > 0.1).length;
  const warning = disturbed > 0
    ? [`**Warning: ${disturbed} of ${all.length} runs shared the CPU with other processes (other load > 0.1 cores, see "All runs"); their throughput is disturbed. ` +
      'Rerun on an idle machine for release numbers; the median-step rows are the most robust to this.**', '']
    : [];
  const lines = [
    '# Benchmarks', '',
    `Generated by \`${command}\` (bench/run.ts) on ${machine.date}${quick ? ' — **quick mode: small samples, indicative only**' : ''}.`, '',
    '## Machine', '',
    `- CPU: ${machine.cpu}, nproc ${machine.nproc}, ${fmt(machine.memoryGb, 1)} GiB RAM`,
    `- Node ${machine.node}; Kestrel on libtorch ${machine.libtorch}, ${machine.kestrelThreads} threads, caching allocator ${machine.cachingAllocator ? 'on' : 'off'}`,
    `- Reference: PyTorch/torchvision ${machine.pytorch} (/usr/bin/python3), torch.set_num_threads(${machine.nproc})`,
    '- Each side runs in its own process (order rotating between repeats), on the same data, after waiting for the machine to be idle; throughput is best-of-runs (least disturbed by other load), RSS the median of VmHWM (reset after data loading for the training + inference figure, via /proc/self/clear_refs).', '',
    '## Results', '',
    ...warning,
    '| workload | metric | Kestrel | PyTorch | Kestrel/PyTorch | target | met |',
    '|---|---|---:|---:|---:|---:|:---:|',
    ...table.map((r) => {
      const v = (side: Sample['framework']) => (Number.isFinite(r.values[side]) ? fmt(r.values[side], r.digits) : '');
      const [ratio, met] = cells(r, 'kestrel');
      return `| ${r.workload} | ${r.metric} | ${v('kestrel')} | ${v('pytorch')} | ${ratio} | ${r.target ? `${r.target.op} ${r.target.value}` : ''} | ${met} |`;
    }),
    '',
    'Kestrel\'s Conv2d stores its weights channels-last (src/nn/conv.ts), so oneDNN runs convolutions in NHWC; PyTorch stays idiomatic (contiguous NCHW).', '',
    'Workloads: **mnist-cnn** = src/vision/simple.ts mnistCnn on Fashion-MNIST (60k train, one full epoch after a warm-up; 10k test for inference), batch 256, Adam lr 1e-3, cross-entropy; PyTorch side idiomatic (TensorDataset + DataLoader(shuffle=True), nn.Sequential, torch.optim.Adam). ' +
      '**resnet18** = torchvision-shaped ResNet-18, 10 classes, synthetic 3x64x64 images (4 batches cycled, same seed both sides), batch 64, SGD lr 0.01 momentum 0.9.', '',
    ...runs.filter((r) => !r.pairs).flatMap(memorySection),
    '## All runs', '',
    '| workload | side | train /s | inference /s | peak RSS MB (train+infer / process) | CPU s | other load (cores) |', '|---|---|---:|---:|---:|---:|---:|',
    ...runs.flatMap((r) => r.samples.map((s) => `| ${r.workload} | ${s.framework} | ${s.trainSamplesPerSec ? fmt(s.trainSamplesPerSec) : ''} | ${s.inferSamplesPerSec ? fmt(s.inferSamplesPerSec) : ''} | ${fmt(s.peakRssMb)} / ${fmt(s.processPeakRssMb)} | ${fmt(s.cpuSeconds, 1)} | ${fmt(s.otherCores, 2)} |`)),
    '',
    '"other load" is CPU time used by other processes during the run, in cores; above ~0.1 the machine was shared and the numbers are disturbed.', '',
  ];
  return lines.join('\n');
}
