/**
 * Unit tests of the panel's API layer, run by Node's own test runner (`npm test`). Requests go
 * to a real local HTTP server that records what it received and answers like the extension.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { ServerConnection } from '@jupyterlab/services';

import { api } from '../src/api';
import {
  convertParameter,
  declaration,
  formatDuration,
  registerBody,
  validateRegisterForm
} from '../src/forms';
import { endpointWithQuery, MlopsApiError, requestAPI } from '../src/request';

interface Seen {
  method: string;
  url: string;
  body: string;
  auth: string | undefined;
}

const seen: Seen[] = [];
let reply: { status: number; body: string } = { status: 200, body: '{}' };
let server: http.Server;
let settings: ServerConnection.ISettings;

before(async () => {
  server = http.createServer((request, response) => {
    let body = '';
    request.on('data', chunk => (body += chunk));
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        body,
        auth: request.headers.authorization
      });
      response.writeHead(reply.status, { 'Content-Type': 'application/json' });
      response.end(reply.body);
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  settings = ServerConnection.makeSettings({
    baseUrl: `http://127.0.0.1:${port}/base/`,
    wsUrl: `ws://127.0.0.1:${port}/base/`,
    token: 'secret-token',
    appendToken: false
  });
});

after(() => server.close());

/** The last request, without the cache-busting timestamp ServerConnection adds to GETs. */
function last(): Seen {
  const request = seen[seen.length - 1];
  return { ...request, url: request.url.replace(/[?&]\d{10,}$/, '') };
}

describe('request layer', () => {
  it('builds query strings with every value encoded and empty ones left out', () => {
    assert.equal(
      endpointWithQuery('runs', {
        notebook: 'my dir/a #1.ipynb',
        limit: 5,
        page_token: null,
        x: ''
      }),
      'runs?notebook=my+dir%2Fa+%231.ipynb&limit=5'
    );
    assert.equal(endpointWithQuery('models'), 'models');
  });

  it('sends the token and decodes JSON', async () => {
    reply = {
      status: 200,
      body: JSON.stringify({
        notebook: 'a.ipynb',
        experiment: 'a',
        runs: [],
        next_page_token: null
      })
    };
    const page = await api.listRuns('dir/a b.ipynb', { limit: 2, pageToken: 'tok=' }, settings);
    assert.equal(page.experiment, 'a');
    assert.equal(last().method, 'GET');
    assert.equal(
      last().url,
      '/base/jupyter-mlops/api/runs?notebook=dir%2Fa+b.ipynb&limit=2&page_token=tok%3D'
    );
    assert.equal(last().auth, 'token secret-token');
  });

  it('turns an error reply into MlopsApiError with its code and message', async () => {
    reply = {
      status: 404,
      body: JSON.stringify({ error: 'not_found', message: "no registered model 'credit'" })
    };
    await assert.rejects(api.getModel('credit', 'a.ipynb', settings), (error: unknown) => {
      assert.ok(error instanceof MlopsApiError);
      assert.equal(error.status, 404);
      assert.equal(error.code, 'not_found');
      assert.equal(error.message, "no registered model 'credit'");
      return true;
    });
  });

  it('explains a 403 and a 404 that are not ours', async () => {
    reply = { status: 403, body: '<html>Forbidden</html>' };
    await assert.rejects(requestAPI('config', {}, settings), (error: unknown) => {
      assert.ok(error instanceof MlopsApiError);
      assert.equal(error.status, 403);
      assert.equal(error.code, 'http_error');
      return true;
    });
    reply = { status: 404, body: '<html>Not found</html>' };
    await assert.rejects(requestAPI('config', {}, settings), /server extension does not answer/);
  });

  it('reports a server that cannot be reached', async () => {
    const dead = ServerConnection.makeSettings({
      baseUrl: 'http://127.0.0.1:9/',
      wsUrl: 'ws://127.0.0.1:9/'
    });
    await assert.rejects(requestAPI('config', {}, dead), (error: unknown) => {
      assert.ok(error instanceof MlopsApiError);
      assert.equal(error.code, 'network');
      return true;
    });
  });

  it('rejects a reply that is not JSON', async () => {
    reply = { status: 200, body: 'not json' };
    await assert.rejects(requestAPI('config', {}, settings), /other than JSON/);
  });
});

describe('every route function hits its method and path', () => {
  const cases: [string, () => Promise<unknown>, string, string, unknown][] = [
    ['getConfig', () => api.getConfig('a.ipynb', settings), 'GET', '/config?notebook=a.ipynb', ''],
    [
      'getRun',
      () => api.getRun('abc', 'a.ipynb', settings),
      'GET',
      '/runs/abc?notebook=a.ipynb',
      ''
    ],
    [
      'listModels',
      () => api.listModels('a.ipynb', settings),
      'GET',
      '/models?notebook=a.ipynb',
      ''
    ],
    [
      'getModel',
      () => api.getModel('risk/x', 'a.ipynb', settings),
      'GET',
      '/models/risk%2Fx?notebook=a.ipynb',
      ''
    ],
    [
      'getLineage',
      () => api.getLineage('m', '@champion', 'a.ipynb', settings),
      'GET',
      '/lineage?model=m&ref=%40champion&notebook=a.ipynb',
      ''
    ],
    [
      'registerVersion',
      () => api.registerVersion('m', { run_id: 'r', alias: 'champion' }, 'a.ipynb', settings),
      'POST',
      '/models/m/versions?notebook=a.ipynb',
      { run_id: 'r', alias: 'champion' }
    ],
    ['getJob', () => api.getJob('a.ipynb', settings), 'GET', '/jobs?notebook=a.ipynb', ''],
    [
      'saveJob',
      () => api.saveJob({ notebook: 'a.ipynb', parameters: ['C:float=1.0'] }, settings),
      'POST',
      '/jobs',
      { notebook: 'a.ipynb', parameters: ['C:float=1.0'] }
    ],
    [
      'startExecution',
      () => api.startExecution({ notebook: 'a.ipynb', parameters: { C: 0.5 } }, settings),
      'POST',
      '/jobs/executions',
      { notebook: 'a.ipynb', parameters: { C: 0.5 } }
    ],
    [
      'listExecutions',
      () => api.listExecutions('a.ipynb', settings),
      'GET',
      '/jobs/executions?notebook=a.ipynb',
      ''
    ],
    ['getExecution', () => api.getExecution('e1', settings), 'GET', '/jobs/executions/e1', ''],
    [
      'cancelExecution',
      () => api.cancelExecution('e1', settings),
      'DELETE',
      '/jobs/executions/e1',
      ''
    ]
  ];
  for (const [name, call, method, path, body] of cases) {
    it(name, async () => {
      reply = { status: 200, body: '{}' };
      await call();
      assert.equal(last().method, method);
      assert.equal(last().url, '/base/jupyter-mlops/api' + path);
      assert.deepEqual(last().body ? JSON.parse(last().body) : '', body);
    });
  }
});

describe('register form', () => {
  const ok = {
    name: 'credit-risk',
    alias: 'champion',
    owner: 'Risk team',
    purpose: 'scoring',
    risk_tier: '2'
  };

  it('accepts a complete form and builds the body without empty fields', () => {
    assert.deepEqual(validateRegisterForm(ok), {});
    assert.deepEqual(registerBody('r1', { ...ok, owner: ' ', purpose: '', alias: '' }), {
      run_id: 'r1',
      risk_tier: '2'
    });
  });

  it('names each bad field', () => {
    assert.match(validateRegisterForm({ ...ok, name: '' }).name ?? '', /required/);
    assert.match(validateRegisterForm({ ...ok, name: 'a/b' }).name ?? '', /"\/"/);
    assert.match(validateRegisterForm({ ...ok, name: ' padded' }).name ?? '', /spaces/);
    assert.match(validateRegisterForm({ ...ok, alias: 'v3' }).alias ?? '', /reserved/);
    assert.match(validateRegisterForm({ ...ok, alias: 'latest' }).alias ?? '', /reserved/);
    assert.match(validateRegisterForm({ ...ok, alias: 'has space' }).alias ?? '', /letters/);
    assert.match(validateRegisterForm({ ...ok, owner: '   ' }).owner ?? '', /blank/);
    assert.match(validateRegisterForm({ ...ok, risk_tier: '7' }).risk_tier ?? '', /1, 2 or 3/);
  });
});

describe('job parameters', () => {
  const p = (type: string, nullable = false) => ({ name: 'x', type, nullable });

  it('converts every type', () => {
    assert.deepEqual(convertParameter(p('int'), ' 42 '), { ok: true, value: 42 });
    assert.deepEqual(convertParameter(p('float'), '0.5'), { ok: true, value: 0.5 });
    assert.deepEqual(convertParameter(p('bool'), 'True'), { ok: true, value: true });
    assert.deepEqual(convertParameter(p('bool'), 'no'), { ok: true, value: false });
    assert.deepEqual(convertParameter(p('str'), ' keep spaces '), {
      ok: true,
      value: ' keep spaces '
    });
    assert.deepEqual(convertParameter(p('list'), '[1, "a"]'), { ok: true, value: [1, 'a'] });
    assert.deepEqual(convertParameter(p('dict'), '{"a": 1}'), { ok: true, value: { a: 1 } });
    assert.deepEqual(convertParameter(p('date'), '2024-01-31'), { ok: true, value: '2024-01-31' });
    assert.deepEqual(convertParameter(p('datetime'), '2024-01-31T10:00'), {
      ok: true,
      value: '2024-01-31T10:00'
    });
    assert.deepEqual(convertParameter(p('int', true), ''), { ok: true, value: null });
    assert.deepEqual(convertParameter(p('any'), '[1]'), { ok: true, value: [1] });
    assert.deepEqual(convertParameter(p('any'), 'plain text'), { ok: true, value: 'plain text' });
  });

  it('refuses bad values with the parameter named', () => {
    for (const [type, text] of [
      ['int', '1.5'],
      ['int', ''],
      ['float', 'abc'],
      ['bool', 'maybe'],
      ['list', '{"a": 1}'],
      ['dict', '[1]'],
      ['date', '31/01/2024'],
      ['datetime', '2024-01-31']
    ]) {
      const result = convertParameter(p(type), text);
      assert.equal(result.ok, false, `${type} ${text}`);
      if (!result.ok) assert.match(result.error, /^x: /);
    }
  });

  it('writes declarations POST jobs understands', () => {
    assert.equal(
      declaration({ name: 'C', type: 'float', nullable: false, default: 1 }),
      'C:float=1'
    );
    assert.equal(
      declaration({ name: 'flag', type: 'bool', nullable: false, default: true }),
      'flag:bool=True'
    );
    assert.equal(
      declaration({ name: 's', type: 'str', nullable: false, default: 'a b' }),
      's:str=a b'
    );
    assert.equal(
      declaration({ name: 'd', type: 'date', nullable: false, default: '2024-01-31' }),
      'd:date=2024-01-31'
    );
    assert.equal(
      declaration({ name: 'n', type: 'int', nullable: true, default: null }),
      'n:int?=null'
    );
    assert.equal(declaration({ name: 'a', type: 'any', nullable: false, default: [1] }), 'a=[1]');
  });

  it('formats durations', () => {
    assert.equal(formatDuration(null), '');
    assert.equal(formatDuration(3.21), '3.2s');
    assert.equal(formatDuration(125), '2m05s');
    assert.equal(formatDuration(7380), '2h03m');
  });
});
