#!/usr/bin/env node
// Locates libjpeg-turbo for the image addon: pkg-config's libjpeg, else jpeglib.h in the usual include folders.
// Prints what binding.gyp asks for (`--include` or `--libs`), or a clear message naming the package to install.
'use strict';
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

function pkgConfig(flag) {
  try {
    return execFileSync('pkg-config', [flag, 'libjpeg'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

const headerDirs = ['/usr/include', '/usr/local/include', '/opt/homebrew/include', '/usr/local/opt/jpeg-turbo/include'];
const cflags = pkgConfig('--cflags');
const includeDir = cflags !== null ? null : headerDirs.find((dir) => fs.existsSync(`${dir}/jpeglib.h`));
if (cflags === null && !includeDir) {
  process.stderr.write('\nkestrel: libjpeg-turbo\'s headers (jpeglib.h) were not found.\n\n' +
    'Kestrel\'s image addon decodes JPEGs with libjpeg-turbo. Install it:\n' +
    '  - Debian/Ubuntu: sudo apt-get install libjpeg-dev\n' +
    '  - Fedora: sudo dnf install libjpeg-turbo-devel\n' +
    '  - macOS: brew install jpeg-turbo\n\n');
  process.exit(1);
}
const mode = process.argv[2];
if (mode === '--include') {
  // NOTE: gyp wants directories, not -I flags.
  const dirs = cflags !== null ? cflags.split(/\s+/).filter((f) => f.startsWith('-I')).map((f) => f.slice(2)) : [includeDir];
  process.stdout.write(dirs.join(' '));
} else {
  process.stdout.write(pkgConfig('--libs') || '-ljpeg');
}
