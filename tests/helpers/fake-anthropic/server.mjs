// A stand-in for the Anthropic Messages API on loopback, for tests that run the real Claude Code
// offline. It streams (SSE) or answers whole messages, plays scripted tool_use turns, can misbehave
// on request (an HTTP error, a stream of garbage, a stream cut short), and logs what every request
// carried, the credentials among it, as JSON lines.
//
//   node server.mjs --port 0 --log FILE [--script FILE] [--cert FILE --key FILE] [--port-file FILE]
//
// The script is {"turns": [STEP, …]}; each request that offers tools (Claude Code's main loop) takes
// the next step, requests without tools (titles, summaries) get a short text. A STEP is
//   {"text": "…"}                               an answer that ends the turn
//   {"tool": {"name": "Bash", "input": {…}}}    one tool_use (by the name offered: Bash or mcp__acp__Bash)
//   {"status": 429, "message": "…"}             an API error with that HTTP status
//   {"garbage": true}                            a 200 whose stream is not SSE
//   {"cut": true}                                a stream that stops after message_start
// When the script runs out, the answer is {"text": "Done."}. The server prints "listening PORT".
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { readFileSync, appendFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const logFile = opt('log', '');
const script = opt('script', '') ? JSON.parse(readFileSync(opt('script'), 'utf8')).turns ?? [] : [];
let next = 0;
let toolIds = 0;

function log(entry) {
  if (logFile) appendFileSync(logFile, JSON.stringify({ time: Date.now(), ...entry }) + '\n');
}

function sse(res, event, data) {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function apiError(res, status, message) {
  const type = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error',
                 404: 'not_found_error', 429: 'rate_limit_error', 529: 'overloaded_error' }[status] ?? 'api_error';
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_fake_${Date.now()}` });
  res.end(JSON.stringify({ type: 'error', error: { type, message } }));
}

// A scripted tool is called by the name the client offered: an adapter that serves a tool itself
// renames it (claude-code-acp offers mcp__acp__Bash instead of Bash).
function offeredName(name, tools) {
  const names = Array.isArray(tools) ? tools.map((t) => t.name) : [];
  if (names.includes(name)) return name;
  return names.find((n) => n.endsWith(`__${name}`)) ?? name;
}

function blocksOf(step, tools) {
  if (step.tool) {
    return [{ type: 'tool_use', id: `toolu_fake_${++toolIds}`, name: offeredName(step.tool.name, tools),
              input: step.tool.input ?? {} }];
  }
  return [{ type: 'text', text: step.text ?? 'Done.' }];
}

function answer(req, res, body) {
  const wantsTools = Array.isArray(body.tools) && body.tools.length > 0;
  const step = wantsTools ? (script[next++] ?? { text: 'Done.' }) : { text: 'A fake title' };
  log({ answer: step, wantsTools });
  if (step.status) return apiError(res, step.status, step.message ?? `scripted ${step.status}`);
  const blocks = blocksOf(step, body.tools);
  const stop = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  const message = { id: `msg_fake_${Date.now()}`, type: 'message', role: 'assistant', model: body.model ?? 'fake',
                    content: [], stop_reason: null, stop_sequence: null,
                    usage: { input_tokens: 12, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } };
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...message, content: blocks, stop_reason: stop, usage: { ...message.usage, output_tokens: 7 } }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (step.garbage) {
    res.end('this is not an event stream\n\x00\x01{{{\n\n');
    return;
  }
  sse(res, 'message_start', { type: 'message_start', message });
  if (step.cut) {
    res.destroy();
    return;
  }
  blocks.forEach((b, index) => {
    if (b.type === 'text') {
      sse(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      sse(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: b.text } });
    } else {
      sse(res, 'content_block_start', { type: 'content_block_start', index,
                                        content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
      sse(res, 'content_block_delta', { type: 'content_block_delta', index,
                                        delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) } });
    }
    sse(res, 'content_block_stop', { type: 'content_block_stop', index });
  });
  sse(res, 'message_delta', { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null },
                              usage: { output_tokens: 7 } });
  sse(res, 'message_stop', { type: 'message_stop' });
  res.end();
}

function handle(req, res) {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= 64 * 1024 * 1024) chunks.push(c);
  });
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    let body = {};
    try { body = raw ? JSON.parse(raw) : {}; } catch { body = { unparsed: true }; }
    const users = Array.isArray(body.messages) ? body.messages.filter((m) => m.role === 'user') : [];
    log({ method: req.method, url: req.url, headers: req.headers, model: body.model, stream: !!body.stream,
          tools: Array.isArray(body.tools) ? body.tools.map((t) => t.name) : [], lastUser: users.at(-1),
          firstUser: users.at(0), messages: Array.isArray(body.messages) ? body.messages.length : 0 });
    const path = req.url.split('?')[0];
    if (req.method === 'POST' && path === '/v1/messages') return answer(req, res, body);
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ input_tokens: 42 }));
    }
    if (req.method === 'HEAD' || (req.method === 'GET' && path === '/')) {
      res.writeHead(200);
      return res.end();
    }
    apiError(res, 404, `no such endpoint here: ${req.method} ${path}`);
  });
}

const cert = opt('cert', '');
const server = cert ? createHttps({ cert: readFileSync(cert), key: readFileSync(opt('key')) }, handle) : createHttp(handle);
server.listen(Number(opt('port', '0')), opt('host', '127.0.0.1'), () => {
  const port = server.address().port;
  if (opt('port-file', '')) writeFileSync(opt('port-file'), String(port));
  console.log(`listening ${port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
