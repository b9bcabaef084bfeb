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
// bootstrap writes its requests itself and Tollgate's server always answers with a
// Content-Length, so node's general-purpose http module (agents, sockets pools, per-request
// objects and events) is pure overhead on the hot path of every invocation. After an invocation
// the answer and the poll for the next event are pipelined: both requests go out in one write and
// the server answers them in order, so an invocation costs one write and (under load, when the
// server has the next event ready) one read.
let socket = null;
let received = null; // bytes received and not yet consumed
let head = null; // the parsed head of the response being received
const pending = []; // the requests sent and not yet answered, oldest first: { text, retry, resolve, reject }

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
  let failed = false;
  const fail = (err) => {
    if (failed) return;
    failed = true;
    if (socket === s) socket = null;
    // Requests that were never answered: a poll for the next event is sent again on a new
    // connection (the server hands out no event on a connection that is gone); anything else
    // fails.
    const lost = pending.splice(0);
    const again = lost.filter((r) => r.retry);
    for (const r of lost) if (!r.retry) r.reject(err || new Error('Runtime API connection closed'));
    if (again.length) {
      if (err) {
        for (const r of again) r.reject(err);
        return;
      }
      connect();
      for (const r of again) pending.push(r);
      socket.write(again.map((r) => r.text).join(''));
    }
  };
  s.on('error', fail);
  s.on('close', () => fail(null));
}

// The head of a response: its status, content length (-1: chunked) and the headers the bootstrap
// reads (lower-cased names).
function parseHead(text) {
  // "HTTP/1.1 200 OK": the status code follows the first space.
  const space = text.indexOf(' ');
  const status = Number(text.slice(space + 1, space + 4));
  const headers = {};
  // One pass over the lines, without splitting the head into an array of them.
  let at = text.indexOf('\r\n') + 2;
  while (at > 1 && at < text.length) {
    let eol = text.indexOf('\r\n', at);
    if (eol < 0) eol = text.length;
    const colon = text.indexOf(':', at);
    if (colon > at && colon < eol) {
      headers[text.slice(at, colon).trim().toLowerCase()] = text.slice(colon + 1, eol).trim();
    }
    at = eol + 2;
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

// Hands every complete response in `received` to the request it answers.
function parse() {
  while (received !== null && pending.length) {
    if (head === null) {
      const end = received.indexOf(HEAD_END);
      if (end < 0) return;
      head = parseHead(received.toString('latin1', 0, end));
      received = received.length > end + 4 ? received.subarray(end + 4) : null;
      if (received === null && head.length !== 0) return;
    }
    let body;
    let used;
    if (head.length < 0) {
      if (received === null) return;
      const chunked = dechunk(received);
      if (chunked === null) return;
      ({ body, used } = chunked);
    } else {
      const have = received === null ? 0 : received.length;
      if (have < head.length) return;
      body = head.length === 0 ? EMPTY : received.subarray(0, head.length);
      used = head.length;
    }
    received = received !== null && received.length > used ? received.subarray(used) : null;
    const response = { status: head.status, headers: head.headers, body };
    head = null;
    const r = pending.shift();
    if (/close/i.test(response.headers.connection || '')) {
      // The server ends the connection after this response; requests after it go out again.
      const s = socket;
      socket = null;
      received = null;
      r.resolve(response);
      if (s) s.destroy();
      return;
    }
    r.resolve(response);
  }
}

const EMPTY = Buffer.alloc(0);
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

// The text of one request. Header values come from user code (an error's name): no line breaks
// may pass.
function requestText(method, urlPath, body, headers) {
  let text = `${method} ${PREFIX}${urlPath} HTTP/1.1\r\nHost: ${API}\r\n`;
  if (headers) for (const name in headers) text += `${name}: ${String(headers[name]).replace(/[\r\n]/g, ' ')}\r\n`;
  if (body === undefined) return text + '\r\n';
  return `${text}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

// Sends requests ({ method, path, body, headers }) in one write; one promise per response.
function send(...requests) {
  if (socket === null) connect();
  let text = '';
  const answers = requests.map(({ method, path: urlPath, body, headers }) => {
    const r = { text: requestText(method, urlPath, body, headers), retry: method === 'GET' };
    text += r.text;
    return new Promise((resolve, reject) => {
      r.resolve = resolve;
      r.reject = reject;
      pending.push(r);
    });
  });
  socket.write(text);
  return answers;
}

function request(method, urlPath, body, headers) {
  return send({ method, path: urlPath, body, headers })[0];
}

const NEXT = { method: 'GET', path: '/invocation/next' };

// Posts an invocation's answer and polls for the next event in the same write; returns the
// promise of the next event. The answer's own response (202) is not waited for.
function answerThenNext(urlPath, body, headers) {
  const [answered, next] = send({ method: 'POST', path: urlPath, body, headers }, NEXT);
  answered.catch(() => {}); // a lost connection fails the poll too, which main sees
  return next;
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

function errorHeaders(doc) {
  return { 'Content-Type': 'application/json', 'Lambda-Runtime-Function-Error-Type': doc.errorType };
}

async function postError(urlPath, doc) {
  await request('POST', urlPath, JSON.stringify(doc), errorHeaders(doc));
}

// Reports an invocation's error and polls for the next event (see answerThenNext).
function errorThenNext(urlPath, doc) {
  return answerThenNext(urlPath, JSON.stringify(doc), errorHeaders(doc));
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

// The function's identity, from Lambda's reserved variables (read once: reading process.env
// is a call into the C library each time).
const FUNCTION = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
};

function makeContext(headers, settle) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const parse = (v) => { try { return v ? JSON.parse(v) : undefined; } catch (_) { return undefined; } };
  return {
    callbackWaitsForEmptyEventLoop: true,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    functionName: FUNCTION.functionName,
    functionVersion: FUNCTION.functionVersion,
    memoryLimitInMB: FUNCTION.memoryLimitInMB,
    logGroupName: FUNCTION.logGroupName,
    logStreamName: FUNCTION.logStreamName,
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

  let polled = request('GET', '/invocation/next');
  for (;;) {
    const next = await polled;
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
      polled = errorThenNext(base + '/error', errorDoc(err, 'Runtime.UnmarshalError'));
      continue;
    }
    const { err, result } = await invoke(handler, event, next.headers);
    if (err) {
      const doc = errorDoc(err);
      console.error('Invoke Error \t' + JSON.stringify(doc));
      polled = errorThenNext(base + '/error', doc);
      continue;
    }
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      polled = errorThenNext(base + '/error', errorDoc(e, 'Runtime.MarshalError'));
      continue;
    }
    polled = answerThenNext(base + '/response', body, { 'Content-Type': 'application/json' });
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
