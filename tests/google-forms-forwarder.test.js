// Tests of docs/google-forms-forwarder.gs, the Apps Script users install in a Google Form.
//
// Apps Script cannot run here, so the script runs in a Node.js VM context with stand-ins for
// the Apps Script services it calls (FormApp, UrlFetchApp, Utilities, PropertiesService,
// LockService, ScriptApp). The stand-ins behave as Google documents them: HMAC bytes come back
// as signed Java-style bytes, properties are strings, fetch with muteHttpExceptions answers
// every status and throws only when there is no answer at all.
//
// Run: node --test tests/   (scripts/test does)

'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const vm = require('node:vm');

const SCRIPT = fs.readFileSync(path.join(__dirname, '..', 'docs', 'google-forms-forwarder.gs'), 'utf8');
const URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/cloudchat/conversations/google-forms?inbox_id=3';
const SECRET = 'forwarder-test-secret';

/** A form response as FormApp returns it. */
function formResponse(id, answers) {
  return {
    getId: () => id,
    getTimestamp: () => new Date('2026-11-21T12:00:00.000Z'),
    getRespondentEmail: () => '',
    getItemResponses: () =>
      answers.map(([itemId, title, type, answer]) => ({
        getItem: () => ({ getId: () => itemId, getTitle: () => title, getType: () => ({ toString: () => type }) }),
        getResponse: () => answer,
      })),
  };
}

/**
 * Loads the script with stand-ins. `answers` is what successive fetches get: a status number,
 * or an Error to throw (no answer). Returns the script's functions and what the stand-ins saw.
 */
function load(answers, responses = {}, { fetchTakesMs = 0 } = {}) {
  const seen = { fetches: [], sleeps: [], triggers: [], deleted: [], properties: new Map() };
  // The script's clock: real time, plus what the stand-in fetches are said to take.
  let elapsed = 0;
  const Clock = class extends Date {
    static now() {
      return Date.now() + elapsed;
    }
  };
  seen.properties.set('PONTE_URL', URL);
  seen.properties.set('PONTE_SECRET', SECRET);
  const form = {
    getId: () => '1FAIpQLSe_FORM',
    getTitle: () => 'Fale conosco',
    getResponse: (id) => {
      if (!responses[id]) throw new Error('Invalid argument: id');
      return responses[id];
    },
  };
  const triggerBuilder = (handler) => {
    const trigger = { handler, kind: [] };
    const chain = {
      forForm: () => (trigger.kind.push('form'), chain),
      onFormSubmit: () => (trigger.kind.push('submit'), chain),
      timeBased: () => (trigger.kind.push('time'), chain),
      everyMinutes: (n) => (trigger.kind.push(`every ${n} min`), chain),
      create: () => (seen.triggers.push(trigger), trigger),
    };
    return chain;
  };
  const existing = ['onFormSubmit', 'retryPending', 'somethingElse'].map((handler) => ({
    getHandlerFunction: () => handler,
  }));
  const context = {
    console,
    JSON,
    Date: Clock,
    String,
    Object,
    Error,
    FormApp: { getActiveForm: () => form },
    PropertiesService: {
      getScriptProperties: () => ({
        getProperty: (key) => (seen.properties.has(key) ? seen.properties.get(key) : null),
        setProperty: (key, value) => seen.properties.set(key, String(value)),
      }),
    },
    LockService: { getScriptLock: () => ({ waitLock: () => {}, releaseLock: () => {} }) },
    Utilities: {
      Charset: { UTF_8: 'UTF-8' },
      // Apps Script returns Java bytes: numbers from -128 to 127.
      computeHmacSha256Signature: (value, key) =>
        Array.from(crypto.createHmac('sha256', key).update(value, 'utf8').digest(), (b) => (b > 127 ? b - 256 : b)),
      base64Encode: (bytes) => Buffer.from(bytes.map((b) => b & 0xff)).toString('base64'),
      sleep: (ms) => seen.sleeps.push(ms),
    },
    UrlFetchApp: {
      fetch: (url, options) => {
        seen.fetches.push({ url, options });
        elapsed += fetchTakesMs;
        const next = answers.shift();
        if (next === undefined) throw new Error('the test gave no answer for this fetch');
        if (next instanceof Error) throw next;
        return { getResponseCode: () => next, getContentText: () => `{"ok": ${next < 300}}` };
      },
    },
    ScriptApp: {
      getProjectTriggers: () => existing,
      deleteTrigger: (trigger) => seen.deleted.push(trigger.getHandlerFunction()),
      newTrigger: triggerBuilder,
    },
  };
  vm.createContext(context);
  vm.runInContext(SCRIPT, context, { filename: 'google-forms-forwarder.gs' });
  const pending = () => JSON.parse(seen.properties.get('PONTE_PENDING') || '{}');
  return { script: context, seen, pending, form };
}

const ANSWERS = [
  [123456789, 'Nome completo', 'TEXT', 'Maria da Silva'],
  [323456789, 'WhatsApp', 'TEXT', '(11) 98765-4321'],
  [523456789, 'Produtos de interesse', 'CHECKBOX', ['Plano Básico', 'Integração WhatsApp']],
];

test('a response is posted as the JSON Ponte reads, signed over the exact body', () => {
  const { script, seen, pending } = load([200]);
  script.onFormSubmit({ response: formResponse('2_ABC', ANSWERS) });

  assert.equal(seen.fetches.length, 1);
  const { url, options } = seen.fetches[0];
  assert.equal(url, URL);
  assert.equal(options.method, 'post');
  assert.equal(options.contentType, 'application/json; charset=utf-8');
  assert.equal(options.muteHttpExceptions, true);
  const expected = 'sha256=' + crypto.createHmac('sha256', SECRET).update(options.payload, 'utf8').digest('base64');
  assert.equal(options.headers['X-Ponte-Signature'], expected);
  assert.deepEqual(JSON.parse(options.payload), {
    source: 'google_forms',
    formId: '1FAIpQLSe_FORM',
    formTitle: 'Fale conosco',
    responseId: '2_ABC',
    submittedAt: '2026-11-21T12:00:00.000Z',
    respondentEmail: '',
    answers: ANSWERS.map(([itemId, title, type, answer]) => ({ itemId, title, type, answer })),
  });
  assert.deepEqual(pending(), {});
});

test('the signature format is the one Ponte checks (the vector of shared/src/authenticity.rs)', () => {
  const { script } = load([]);
  const bytes = script.Utilities.computeHmacSha256Signature('{}', 'secret', script.Utilities.Charset.UTF_8);
  assert.equal('sha256=' + script.Utilities.base64Encode(bytes), 'sha256=dzJZAsrKgS3CWXM6rNBGtzgXNyx3e42VtAJkdHRRbhM=');
});

test('a provider outage is retried within the run, with pauses', () => {
  const { script, seen, pending } = load([503, new Error('Address unavailable'), 200]);
  script.onFormSubmit({ response: formResponse('2_ABC', ANSWERS) });
  assert.equal(seen.fetches.length, 3);
  assert.deepEqual(seen.sleeps, [1000, 2000]);
  assert.equal(seen.fetches[2].options.payload, seen.fetches[0].options.payload);
  assert.deepEqual(pending(), {});
});

test('a refused response is not retried in the run: it is kept, and the run fails saying why', () => {
  const { script, seen, pending } = load([400]);
  assert.throws(
    () => script.onFormSubmit({ response: formResponse('2_BAD', ANSWERS) }),
    /Ponte did not take response 2_BAD \(kept for a retry\): HTTP 400/,
  );
  assert.equal(seen.fetches.length, 1);
  assert.deepEqual(Object.keys(pending()), ['2_BAD']);
  assert.match(pending()['2_BAD'].why, /^HTTP 400: /);
});

test('no answer at all, three times, keeps the response', () => {
  const down = () => new Error('DNS error: https://abc123.execute-api.us-east-1.amazonaws.com');
  const { script, seen, pending } = load([down(), down(), down()]);
  assert.throws(() => script.onFormSubmit({ response: formResponse('2_DOWN', ANSWERS) }), /DNS error/);
  assert.equal(seen.fetches.length, 3);
  assert.deepEqual(Object.keys(pending()), ['2_DOWN']);
});

test('retryPending delivers what it can, keeps the rest, and drops only week-old responses', () => {
  const responses = {
    '2_NOW_OK': formResponse('2_NOW_OK', ANSWERS),
    '2_STILL_BAD': formResponse('2_STILL_BAD', ANSWERS),
    '2_TOO_OLD': formResponse('2_TOO_OLD', ANSWERS),
  };
  // Keys are visited in insertion order: 2_NOW_OK, 2_STILL_BAD, 2_TOO_OLD, 2_DELETED.
  const { script, seen, pending } = load([200, 422, 422], responses);
  const now = Date.now();
  seen.properties.set(
    'PONTE_PENDING',
    JSON.stringify({
      '2_NOW_OK': { since: now - 60_000, why: 'HTTP 503' },
      '2_STILL_BAD': { since: now - 60_000, why: 'HTTP 400' },
      '2_TOO_OLD': { since: now - 8 * 24 * 3600 * 1000, why: 'HTTP 400' },
      '2_DELETED': { since: now - 60_000, why: 'HTTP 503' },
    }),
  );
  assert.throws(() => script.retryPending(), /no longer retried: 2_TOO_OLD \(HTTP 422: /);
  assert.equal(seen.fetches.length, 3, 'one call each; the deleted response is not sent');
  assert.deepEqual(Object.keys(pending()), ['2_STILL_BAD']);
  assert.match(pending()['2_STILL_BAD'].why, /^HTTP 422: /);
});

test('retryPending with nothing kept sends nothing', () => {
  const { script, seen } = load([]);
  script.retryPending();
  assert.equal(seen.fetches.length, 0);
});

test('setup installs the two triggers and replaces only its own', () => {
  const { script, seen } = load([]);
  script.setup();
  assert.deepEqual(seen.deleted, ['onFormSubmit', 'retryPending']);
  assert.deepEqual(
    seen.triggers.map((t) => [t.handler, t.kind.join(' ')]),
    [
      ['onFormSubmit', 'form submit'],
      ['retryPending', 'time every 15 min'],
    ],
  );
});

test('retryPending stops taking new responses after four minutes, before Apps Script stops it', () => {
  const ids = ['2_A', '2_B', '2_C', '2_D', '2_E'];
  const responses = Object.fromEntries(ids.map((id) => [id, formResponse(id, ANSWERS)]));
  const { script, seen, pending } = load([200, 200, 200, 200, 200], responses, { fetchTakesMs: 100_000 });
  const now = Date.now();
  seen.properties.set('PONTE_PENDING', JSON.stringify(Object.fromEntries(ids.map((id) => [id, { since: now, why: 'HTTP 503' }]))));
  script.retryPending();
  // 100 s per call: the fourth would start 300 s into the run, past the 240 s budget.
  assert.equal(seen.fetches.length, 3);
  assert.deepEqual(Object.keys(pending()), ['2_D', '2_E']);
});
