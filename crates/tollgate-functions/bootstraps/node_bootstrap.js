// Tollgate's Node.js runtime interface client.
//
// Speaks the AWS Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API with node's http module, loads the
// handler named by $_HANDLER ("index.handler", "src/app.lambdaHandler") from $LAMBDA_TASK_ROOT as
// CommonJS or ES module, and calls it async-style (a returned promise) or callback-style (three
// parameters). Console output and error documents follow AWS's Node.js runtime:
// `timestamp\trequestId\tLEVEL\tmessage` lines and `{"errorType","errorMessage","trace"}`.
'use strict';

const net = require('net');
const fs = require('fs');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const API = process.env.AWS_LAMBDA_RUNTIME_API;
const sep = API.lastIndexOf(':');
const HOST = API.slice(0, sep) || '127.0.0.1';
const PORT = Number(API.slice(sep + 1));
const PREFIX = '/2018-06-01/runtime';

// The Runtime API is spoken over one kept-alive connection with a minimal HTTP/1.1 client: the
// bootstrap sends one request at a time and Tollgate's server always answers with a
// Content-Length, so node's general-purpose http module (agents, sockets pools, per-request
// objects and events) is pure overhead on the hot path of every invocation.
let socket = null;
let received = null; // bytes received and not yet consumed
let head = null; // the parsed head of the response being received
let waiter = null; // { resolve, reject } of the request in flight

function connect() {
  socket = net.connect({ host: HOST, port: PORT });
  socket.setNoDelay(true);
  received = null;
  head = null;
  const s = socket;
  s.on('data', (chunk) => {
    received = received === null ? chunk : Buffer.concat([received, chunk]);
    parse();
  });
  const fail = (err) => {
    if (socket === s) socket = null;
    if (waiter) {
      const w = waiter;
      waiter = null;
      w.reject(err || new Error('Runtime API connection closed'));
    }
  };
  s.on('error', fail);
  s.on('close', () => fail(null));
}

function parseHead(text) {
  const lines = text.split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon > 0) headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
  }
  const length = headers['content-length'];
  if (length === undefined && /chunked/i.test(headers['transfer-encoding'] || '')) {
    return { status, headers, length: -1 };
  }
  return { status, headers, length: Number(length || 0) };
}

// A chunked body's length in `buf` and its decoded bytes, or null while incomplete.
function dechunk(buf) {
  const parts = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = parseInt(buf.toString('latin1', at, eol), 16);
    if (Number.isNaN(size)) throw new Error('bad chunked encoding from the Runtime API');
    const start = eol + 2;
    if (size === 0) {
      const end = buf.indexOf('\r\n\r\n', eol);
      if (end < 0) return null;
      return { used: end + 4, body: Buffer.concat(parts) };
    }
    if (buf.length < start + size + 2) return null;
    parts.push(buf.subarray(start, start + size));
    at = start + size + 2;
  }
}

function parse() {
  if (received === null || !waiter) return;
  if (head === null) {
    const end = received.indexOf('\r\n\r\n');
    if (end < 0) return;
    head = parseHead(received.toString('latin1', 0, end));
    received = received.subarray(end + 4);
  }
  let body;
  let used;
  if (head.length < 0) {
    const chunked = dechunk(received);
    if (chunked === null) return;
    ({ body, used } = chunked);
  } else {
    if (received.length < head.length) return;
    body = received.subarray(0, head.length);
    used = head.length;
  }
  received = received.length > used ? received.subarray(used) : null;
  const response = { status: head.status, headers: head.headers, body };
  const w = waiter;
  head = null;
  waiter = null;
  if (/close/i.test(response.headers.connection || '')) {
    const s = socket;
    socket = null;
    if (s) s.destroy();
  }
  w.resolve(response);
}

function request(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    if (socket === null) connect();
    waiter = { resolve, reject };
    let text = `${method} ${PREFIX}${urlPath} HTTP/1.1\r\nHost: ${API}\r\n`;
    // Header values come from user code (an error's name): no line breaks may pass.
    if (headers) for (const name in headers) text += `${name}: ${String(headers[name]).replace(/[\r\n]/g, ' ')}\r\n`;
    if (body === undefined) {
      socket.write(text + '\r\n');
    } else {
      text += `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      socket.write(text + body);
    }
  });
}

let currentRequestId = undefined;

// Lambda prefixes console output with the time, request id and level.
function patchConsole() {
  const write = (level) => (...args) => {
    const line = `${new Date().toISOString()}\t${currentRequestId || 'undefined'}\t${level}\t${util.format(...args)}`;
    process.stdout.write(line + '\n');
  };
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.trace = write('TRACE');
}

function errorDoc(err, type) {
  if (err instanceof Error) {
    return {
      errorType: type || err.name || 'Error',
      errorMessage: err.message,
      trace: (err.stack || '').split('\n'),
    };
  }
  return { errorType: type || typeof err, errorMessage: String(err), trace: [] };
}

async function postError(urlPath, doc) {
  const body = JSON.stringify(doc);
  await request('POST', urlPath, body, {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': doc.errorType,
  });
}

class InitError extends Error {
  constructor(doc) {
    super(doc.errorMessage);
    this.doc = doc;
  }
}

async function loadHandler(spec, root) {
  const slash = spec.lastIndexOf('/');
  const dir = spec.slice(0, slash + 1);
  const base = spec.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot < 1) {
    throw new InitError({ errorType: 'Runtime.MalformedHandlerName', errorMessage: 'Bad handler', trace: [] });
  }
  const moduleName = dir + base.slice(0, dot);
  const functionPath = base.slice(dot + 1).split('.');
  const candidates = ['.js', '.mjs', '.cjs'].map((ext) => path.resolve(root, moduleName + ext));
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) {
    throw new InitError({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: `Error: Cannot find module '${moduleName}'`,
      trace: [],
    });
  }
  let mod;
  try {
    if (file.endsWith('.mjs')) {
      mod = await import(pathToFileURL(file).href);
    } else {
      try {
        mod = require(file);
      } catch (err) {
        if (err && err.code === 'ERR_REQUIRE_ESM') mod = await import(pathToFileURL(file).href);
        else throw err;
      }
    }
  } catch (err) {
    const type = err instanceof SyntaxError ? 'Runtime.UserCodeSyntaxError' : 'Runtime.ImportModuleError';
    throw new InitError(errorDoc(err, type));
  }
  let handler = mod;
  for (const key of functionPath) handler = handler == null ? undefined : handler[key];
  if (handler === undefined && mod && mod.default) {
    handler = mod.default;
    for (const key of functionPath) handler = handler == null ? undefined : handler[key];
  }
  if (typeof handler !== 'function') {
    throw new InitError({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: `${spec} is undefined or not exported`,
      trace: [],
    });
  }
  return handler;
}

function makeContext(headers, settle) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const parse = (v) => { try { return v ? JSON.parse(v) : undefined; } catch (_) { return undefined; } };
  return {
    callbackWaitsForEmptyEventLoop: true,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parse(headers['lambda-runtime-client-context']),
    identity: parse(headers['lambda-runtime-cognito-identity']),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    succeed: (result) => settle(null, result),
    fail: (err) => settle(err || new Error('handled'), undefined),
    done: (err, result) => settle(err, result),
  };
}

function invoke(handler, event, headers) {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (err, result) => {
      if (settled) return;
      settled = true;
      resolve({ err, result });
    };
    const context = makeContext(headers, settle);
    try {
      const ret = handler(event, context, settle);
      if (ret && typeof ret.then === 'function') {
        ret.then((result) => settle(null, result), (err) => settle(err == null ? new Error('null') : err));
      } else if (handler.length < 3) {
        settle(null, ret);
      }
    } catch (err) {
      settle(err);
    }
  });
}

async function main() {
  patchConsole();
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER || '', root);
  } catch (err) {
    const doc = err instanceof InitError ? err.doc : errorDoc(err);
    console.error(`${doc.errorType}: ${doc.errorMessage}`);
    await postError('/init/error', doc);
    process.exit(1);
  }

  for (;;) {
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) process.exit(1);
    const requestId = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = requestId;
    const trace = next.headers['lambda-runtime-trace-id'];
    if (trace) process.env._X_AMZN_TRACE_ID = trace;
    else delete process.env._X_AMZN_TRACE_ID;
    const base = `/invocation/${requestId}`;
    let event;
    try {
      event = next.body.length ? JSON.parse(next.body.toString('utf8')) : null;
    } catch (err) {
      await postError(base + '/error', errorDoc(err, 'Runtime.UnmarshalError'));
      continue;
    }
    const { err, result } = await invoke(handler, event, next.headers);
    if (err) {
      const doc = errorDoc(err);
      console.error('Invoke Error \t' + JSON.stringify(doc));
      await postError(base + '/error', doc);
      continue;
    }
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      await postError(base + '/error', errorDoc(e, 'Runtime.MarshalError'));
      continue;
    }
    await request('POST', base + '/response', body, { 'Content-Type': 'application/json' });
  }
}

process.on('unhandledRejection', (reason) => {
  console.error('Unhandled Promise Rejection \t' + JSON.stringify(errorDoc(reason, 'Runtime.UnhandledPromiseRejection')));
  process.exit(128);
});

main().catch((err) => {
  process.stderr.write(`tollgate node bootstrap failed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
