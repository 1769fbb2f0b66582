/**
 * Unit tests of the panel's one loading mechanism (src/resource.ts) and of how its settings
 * are read (src/settings.ts), run by Node's own test runner (`npm test`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { MlopsApiError } from '../src/request';
import { errorMessage, Resource, ResourceState } from '../src/resource';
import { DEFAULT_SETTINGS, readSettings } from '../src/settings';

/** A promise and the functions that settle it, to order replies by hand. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** Every state the resource went through. */
function record<T>(resource: Resource<T>): ResourceState<T>[] {
  const states: ResourceState<T>[] = [];
  resource.subscribe(() => states.push(resource.state));
  return states;
}

describe('Resource', () => {
  it('starts empty, loads, and keeps the data shown while it reloads', async () => {
    const resource = new Resource<string[]>();
    const states = record(resource);
    assert.deepEqual(resource.state, { data: null, loading: false, error: null });
    await resource.load(async () => ['run-1']);
    const again = deferred<string[]>();
    const reloading = resource.load(() => again.promise);
    assert.deepEqual(resource.state, { data: ['run-1'], loading: true, error: null });
    again.resolve(['run-2', 'run-1']);
    await reloading;
    assert.deepEqual(
      states.map(s => [s.data, s.loading]),
      [
        [null, true],
        [['run-1'], false],
        [['run-1'], true],
        [['run-2', 'run-1'], false]
      ]
    );
  });

  it('shows the message of a failure, and a later success clears it', async () => {
    const resource = new Resource<number>();
    await resource.load(async () => 1);
    await resource.load(async () => {
      throw new MlopsApiError(503, 'store_unavailable', 'the tracking store does not answer');
    });
    assert.deepEqual(resource.state, {
      data: 1,
      loading: false,
      error: 'the tracking store does not answer'
    });
    await resource.load(async () => 2);
    assert.deepEqual(resource.state, { data: 2, loading: false, error: null });
  });

  it('drops a reply that a newer load overtook (newest request wins)', async () => {
    const resource = new Resource<string>();
    const slow = deferred<string>();
    const fast = deferred<string>();
    const first = resource.load(() => slow.promise);
    const second = resource.load(() => fast.promise);
    fast.resolve('other notebook');
    await second;
    slow.resolve('old notebook');
    await first;
    assert.equal(resource.state.data, 'other notebook');
    assert.equal(resource.state.loading, false);
  });

  it('drops a failure that a newer load overtook', async () => {
    const resource = new Resource<string>();
    const slow = deferred<string>();
    const first = resource.load(() => slow.promise);
    await resource.load(async () => 'fresh');
    slow.reject(new Error('late failure'));
    await first;
    assert.deepEqual(resource.state, { data: 'fresh', loading: false, error: null });
  });

  it('forgets the data and any request under way', async () => {
    const resource = new Resource<string>();
    await resource.load(async () => 'a');
    const slow = deferred<string>();
    const pending = resource.load(() => slow.promise);
    resource.forget();
    slow.resolve('late');
    await pending;
    assert.deepEqual(resource.state, { data: null, loading: false, error: null });
  });

  it('loads nothing without a fetcher (no notebook)', async () => {
    const resource = new Resource<string>();
    await resource.load(async () => 'a');
    await resource.load(null);
    assert.deepEqual(resource.state, { data: null, loading: false, error: null });
  });

  it('updates loaded data in place, and not before there is any', async () => {
    const resource = new Resource<number[]>();
    resource.update(list => [...list, 1]);
    assert.equal(resource.state.data, null);
    await resource.load(async () => [1]);
    resource.update(list => [0, ...list]);
    assert.deepEqual(resource.state.data, [0, 1]);
  });

  it('stops calling a listener once unsubscribed', async () => {
    const resource = new Resource<number>();
    let calls = 0;
    const stop = resource.subscribe(() => calls++);
    await resource.load(async () => 1);
    stop();
    await resource.load(async () => 2);
    assert.equal(calls, 2);
  });

  it('words errors of any kind', () => {
    assert.equal(errorMessage(new MlopsApiError(404, 'not_found', 'no run abc')), 'no run abc');
    assert.equal(errorMessage(new TypeError('boom')), 'boom');
    assert.equal(errorMessage('plain'), 'plain');
  });
});

describe('settings', () => {
  it('defaults when nothing is set', () => {
    assert.deepEqual(readSettings({}), DEFAULT_SETTINGS);
    assert.equal(DEFAULT_SETTINGS.executionPollInterval, 1000);
    assert.equal(DEFAULT_SETTINGS.runsPageSize, 20);
  });

  it('takes valid values and clamps the others into their range', () => {
    assert.deepEqual(
      readSettings({ executionPollInterval: 5000, runRecheckInterval: 10, runsPageSize: 1000 }),
      { executionPollInterval: 5000, runRecheckInterval: 500, runsPageSize: 200 }
    );
    assert.deepEqual(
      readSettings({ runsPageSize: 'many', executionPollInterval: NaN }),
      DEFAULT_SETTINGS
    );
  });

  it('match the schema the Settings Editor shows (defaults and ranges)', () => {
    // test-lib/test/ -> labextension/schema/plugin.json
    const file = path.join(__dirname, '..', '..', 'schema', 'plugin.json');
    const schema = JSON.parse(readFileSync(file, 'utf-8')) as {
      properties: Record<string, { default: number; minimum: number; maximum: number }>;
    };
    assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(DEFAULT_SETTINGS).sort());
    for (const [key, property] of Object.entries(schema.properties)) {
      assert.equal(property.default, DEFAULT_SETTINGS[key as keyof typeof DEFAULT_SETTINGS], key);
      assert.deepEqual(readSettings({ [key]: property.minimum - 1 }), {
        ...DEFAULT_SETTINGS,
        [key]: property.minimum
      });
      assert.deepEqual(readSettings({ [key]: property.maximum + 1 }), {
        ...DEFAULT_SETTINGS,
        [key]: property.maximum
      });
    }
  });
});
