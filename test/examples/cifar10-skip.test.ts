import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { toyResnet } from '../../examples/cifar10-skip.js';

test("the toy ResNet has Keras's guide's layers, output shapes and 223,242 parameters", () => {
  const model = toyResnet();
  assert.equal(model.numParameters(), 223242, "Keras's functional API guide prints Total params: 223,242");
  const shapes = model.steps.filter((s) => s.module.numParameters() > 0 || s.name.startsWith('add') || s.name.startsWith('max'))
    .map((s) => `${s.name} ${JSON.stringify(s.outputShapes[0])}`);
  assert.deepEqual(shapes, [
    'conv2d [null,32,30,30]', 'conv2d_1 [null,64,28,28]', 'max_pool2d [null,64,9,9]',
    'conv2d_2 [null,64,9,9]', 'conv2d_3 [null,64,9,9]', 'add [null,64,9,9]',
    'conv2d_4 [null,64,9,9]', 'conv2d_5 [null,64,9,9]', 'add_1 [null,64,9,9]',
    'conv2d_6 [null,64,7,7]', 'linear [null,256]', 'linear_1 [null,10]',
  ]);
  model.dispose();
});

test('examples/cifar10-skip runs as written at a tiny setting: summary with "Connected to", one epoch, finite losses', () => {
  const script = fileURLToPath(new URL('../../examples/cifar10-skip.js', import.meta.url));
  const out = execFileSync(process.execPath, [script, '48'], { encoding: 'utf8', timeout: 300000 });
  assert.match(out, /Model: "toy_resnet"/);
  assert.match(out, /Layer \(type\)\s+Output Shape\s+Param #\s+Connected to/);
  assert.match(out, /add_1 \(Add\)\s+\[None, 64, 9, 9\]\s+0\s+relu_5\[0\]\[0\], add\[0\]\[0\]/);
  assert.match(out, /Total params: 223,242/);
  const last = out.trim().split('\n').at(-1)!;
  const m = /^train loss (\d+\.\d+), valid loss (\d+\.\d+), accuracy (\d+\.\d)%$/.exec(last);
  assert.ok(m, `last line: ${last}`);
  assert.ok(Number(m[1]) > 0 && Number(m[2]) > 0);
});
