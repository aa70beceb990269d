/** Where Kestrel's native addons live (build/Release under the package root), without loading any of them. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest folder above this file holding both package.json and binding.gyp. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'binding.gyp'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('kestrel: cannot find the package root (binding.gyp)');
    dir = parent;
  }
  return dir;
}

/** Path of a built addon, e.g. addonPath('kestrel_image') -> <root>/build/Release/kestrel_image.node. */
export function addonPath(name: string): string {
  return join(packageRoot(), 'build', 'Release', `${name}.node`);
}
