import test from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Dashboard, safeRelativePath } from '../../src/dashboard/index.js';

/** A raw request (the path is sent exactly as given, not normalised by a URL parser). */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('safeRelativePath refuses every way out of the static root', () => {
  for (const bad of ['/../package.json', '/static/../../package.json', '/%2e%2e/package.json', '/static/%2E%2E%2Fpackage.json', '/static/..%2fpackage.json',
    '/static/%252e%252e/package.json', '/static/..\\package.json', '/static/%5c..%5cpackage.json', '/static/a%00.js', '/static/%zz', '/static/./style.css']) {
    assert.equal(safeRelativePath(bad), null, bad);
  }
  assert.equal(safeRelativePath('/static/style.css'), 'static/style.css');
});

test('dashboard server: loopback by default, GET/HEAD only, traversal refused, stop needs its header, foreign Host refused', async () => {
  const dashboard = new Dashboard({ port: 0 });
  await dashboard.start();
  try {
    const address = dashboard.server.address!;
    assert.equal(address.address, '127.0.0.1', 'bound to loopback');
    const port = address.port;
    const page = await raw(port, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self' 'sha256-[^']+'/);
    assert.doesNotMatch(String(page.headers['content-security-policy']), /unsafe-eval/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const head = await raw(port, 'HEAD', '/static/style.css');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await raw(port, 'GET', '/lib/vega.min.js')).status, 200);
    assert.equal((await raw(port, 'GET', '/lib/vega-util/index.js')).status, 200);
    assert.match((await raw(port, 'GET', '/lib/vega-util.js')).body, /DisallowedObjectProperties/);
    for (const path of ['/static/../package.json', '/static/%2e%2e/%2e%2e/package.json', '/static/..%2f..%2fpackage.json', '/lib/vega-util/../../../package.json',
      '/lib/vega-util/%2e%2e/%2e%2e/%2e%2e/package.json', '/static/%252e%252e/%252e%252e/package.json', '/static/..\\..\\package.json', '/..', '/static/']) {
      const answer = await raw(port, 'GET', path);
      assert.ok(answer.status === 400 || answer.status === 404, `${path}: ${answer.status}`);
      assert.doesNotMatch(answer.body, /"name": "kestrel"/, path);
    }
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST']) {
      const answer = await raw(port, method, '/');
      assert.equal(answer.status, 405, method);
      assert.equal(answer.headers.allow, 'GET, HEAD');
    }
    assert.equal((await raw(port, 'POST', '/api/state')).status, 405, 'only the listed actions take POST');
    assert.equal((await raw(port, 'POST', '/api/stop')).status, 403, 'a stop without X-Kestrel-Action (e.g. a cross-site form) is refused');
    assert.equal((await raw(port, 'POST', '/api/stop', { 'X-Kestrel-Action': 'stop' })).status, 202);
    assert.equal((await raw(port, 'GET', '/', { Host: 'attacker.example' })).status, 403, 'DNS-rebinding guard');
    const state = JSON.parse((await raw(port, 'GET', '/api/state')).body) as { status: string };
    assert.equal(state.status, 'waiting');
  } finally {
    await dashboard.close();
  }
});
