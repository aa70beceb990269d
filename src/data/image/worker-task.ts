/** The unit of work sent to a loader worker: one batch of files in, one packed uint8 buffer out. */
import { BadImageError, describeImageError } from './bad-image.js';
import { type ResolvedDecodeOptions } from './decode.js';
import { loadImageSampleChecked } from './pipeline.js';
import { type ImageTransforms } from './transforms.js';

/** Settings a worker gets once, at start. */
export interface WorkerSetup {
  decode: ResolvedDecodeOptions;
  transforms: ImageTransforms | null;
  seed: number;
  /** Images decoded at once inside one worker (overlaps sharp's thread-pool work with JS work). */
  concurrency: number;
}

/** One batch to load: dataset indices and their files. */
export interface BatchTask {
  id: number;
  epoch: number;
  indices: number[];
  files: string[];
}

/** A loaded batch: samples that decoded, packed HWC back to back, plus the ones that failed. */
export interface BatchResult {
  id: number;
  /** Dataset indices of the packed samples, in task order. */
  indices: number[];
  /** n * height * width * channels bytes (transferred, not copied). */
  data: ArrayBuffer;
  height: number;
  width: number;
  channels: number;
  bad: { index: number; file: string; reason: string }[];
}

/** Loads every sample of a task; failures are returned in `bad` (never thrown), sizes must agree. */
export async function runBatchTask(task: BatchTask, setup: WorkerSetup): Promise<BatchResult> {
  const images = new Array<Uint8Array | null>(task.files.length).fill(null);
  const bad: BatchResult['bad'] = [];
  let shape: [number, number, number] | null = null;
  let next = 0;
  const work = async () => {
    while (next < task.files.length) {
      const i = next++;
      const file = task.files[i];
      try {
        const image = await loadImageSampleChecked(file, setup.transforms, setup.decode, { seed: setup.seed, epoch: task.epoch, index: task.indices[i] });
        shape ??= [image.height, image.width, image.channels];
        if (image.height !== shape[0] || image.width !== shape[1]) {
          throw new BadImageError(file, `is ${image.width}x${image.height} but the batch is ${shape[1]}x${shape[0]}; give the loader a transforms.size`);
        }
        images[i] = image.data;
      } catch (error) {
        bad.push({ index: task.indices[i], file, reason: error instanceof BadImageError ? error.reason : describeImageError(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, setup.concurrency) }, work));
  const [height, width, channels] = shape ?? [0, 0, setup.decode.channels];
  const sampleBytes = height * width * channels;
  const kept = images.map((img, i) => (img ? i : -1)).filter((i) => i >= 0);
  const data = new Uint8Array(kept.length * sampleBytes);
  kept.forEach((i, k) => data.set(images[i]!, k * sampleBytes));
  bad.sort((a, b) => a.index - b.index);
  return { id: task.id, indices: kept.map((i) => task.indices[i]), data: data.buffer, height, width, channels, bad };
}
