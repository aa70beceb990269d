/**
 * The standard datasets Kestrel can download, with canonical URLs (mirrors in order) and checksums.
 *
 * Sources of the checksums (never guessed):
 * - SHA-256 and sizes: TensorFlow Datasets' url_checksums (github.com/tensorflow/datasets,
 *   tensorflow_datasets/url_checksums/{mnist,fashion_mnist,cifar10,cifar100}.txt).
 * - MD5: torchvision/datasets/mnist.py (`MNIST.resources`, `FashionMNIST.resources`), torchvision 0.14.
 * The MNIST files on yann.lecun.com, the ossci-datasets S3 mirror and the cvdf-datasets bucket
 * are the same bytes (same sizes; torchvision checks its MD5 against each mirror).
 */
import { checkDatasetName } from './cache.js';

/** One file of a dataset. */
export interface DatasetFile {
  /** File name inside the dataset folder. */
  name: string;
  /** Where to fetch it, tried in order. */
  urls: string[];
  /** SHA-256 of the file (hex). */
  sha256?: string;
  /** MD5 of the file (hex), checked as well when present. */
  md5?: string;
  /** Size in bytes, when known. */
  size?: number;
  /** Extract this archive (tar, optionally gzipped) into the dataset folder after verifying it. */
  extract?: 'tar';
}

/** A downloadable dataset. */
export interface DatasetEntry {
  /** Registry name (a folder name: letters, digits, '.', '_', '-'). */
  name: string;
  /** One line for `kestrel datasets list`. */
  description: string;
  files: DatasetFile[];
  /** Sub-folder holding the data after extraction (returned by ensureDataset), e.g. `cifar-10-batches-bin`. */
  dataDir?: string;
}

const MNIST_MIRRORS = ['http://yann.lecun.com/exdb/mnist/', 'https://ossci-datasets.s3.amazonaws.com/mnist/', 'https://storage.googleapis.com/cvdf-datasets/mnist/'];
const FASHION_MIRRORS = ['https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/', 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'];

function idxFiles(mirrors: string[], files: [string, number, string, string][]): DatasetFile[] {
  return files.map(([name, size, sha256, md5]) => ({ name, size, sha256, md5, urls: mirrors.map((m) => m + name) }));
}

const builtIn: DatasetEntry[] = [
  {
    name: 'mnist',
    description: 'MNIST handwritten digits, 28x28 grey, 60000 train + 10000 test (IDX, gzipped)',
    files: idxFiles(MNIST_MIRRORS, [
      ['train-images-idx3-ubyte.gz', 9912422, '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609', 'f68b3c2dcbeaaa9fbdd348bbdeb94873'],
      ['train-labels-idx1-ubyte.gz', 28881, '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c', 'd53e105ee54ea40749a09fcbcd1e9432'],
      ['t10k-images-idx3-ubyte.gz', 1648877, '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6', '9fb629c4189551a2d022fa330f9573f3'],
      ['t10k-labels-idx1-ubyte.gz', 4542, 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6', 'ec29112dd5afa0611ce80d1b7f02629c'],
    ]),
  },
  {
    name: 'fashion-mnist',
    description: 'Fashion-MNIST (Zalando) clothing, 28x28 grey, 10 classes, 60000 train + 10000 test (IDX, gzipped)',
    files: idxFiles(FASHION_MIRRORS, [
      ['train-images-idx3-ubyte.gz', 26421880, '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84', '8d4fb7e6c68d591d4c3dfef9ec88bf0d'],
      ['train-labels-idx1-ubyte.gz', 29515, 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845', '25c81989df183df01b3e8a0aad5dffbe'],
      ['t10k-images-idx3-ubyte.gz', 4422102, '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073', 'bef4ecab320f06d8554ea6380940ec79'],
      ['t10k-labels-idx1-ubyte.gz', 5148, '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5', 'bb300cfdad3c16e7a12a480ee83cd310'],
    ]),
  },
  {
    name: 'cifar10',
    description: 'CIFAR-10, 32x32 colour, 10 classes, 50000 train + 10000 test (binary version)',
    dataDir: 'cifar-10-batches-bin',
    files: [{
      name: 'cifar-10-binary.tar.gz',
      urls: ['https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'],
      size: 170052171,
      sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd',
      extract: 'tar',
    }],
  },
  {
    name: 'cifar100',
    description: 'CIFAR-100, 32x32 colour, 100 fine / 20 coarse classes, 50000 train + 10000 test (binary version)',
    dataDir: 'cifar-100-binary',
    files: [{
      name: 'cifar-100-binary.tar.gz',
      urls: ['https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz'],
      size: 168513733,
      sha256: '58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec',
      extract: 'tar',
    }],
  },
];

const registry = new Map<string, DatasetEntry>(builtIn.map((entry) => [entry.name, entry]));

/** Adds (or replaces) a dataset entry; tests and plugins register local or private datasets this way. */
export function registerDataset(entry: DatasetEntry): void {
  checkDatasetName(entry.name);
  if (entry.files.length === 0) throw new Error(`dataset '${entry.name}' has no files`);
  for (const file of entry.files) {
    checkDatasetName(file.name);
    if (!file.sha256 && !file.md5) throw new Error(`dataset '${entry.name}': file '${file.name}' needs a sha256 or md5 checksum`);
    if (file.urls.length === 0) throw new Error(`dataset '${entry.name}': file '${file.name}' has no URLs`);
  }
  registry.set(entry.name, entry);
}

/** Removes a registered dataset (built-in ones included); returns whether it existed. */
export function unregisterDataset(name: string): boolean {
  return registry.delete(name);
}

/** The entry for `name`; the error lists the known names. */
export function getDataset(name: string): DatasetEntry {
  const entry = registry.get(name);
  if (!entry) throw new Error(`unknown dataset '${name}'; known datasets: ${[...registry.keys()].join(', ')}`);
  return entry;
}

/** All registered datasets, in registration order. */
export function listDatasets(): DatasetEntry[] {
  return [...registry.values()];
}
