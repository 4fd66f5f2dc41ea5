// The page's only source of data: the node's public JSON-RPC, over HTTP (single calls and batches)
// and over a WebSocket for eth_subscribe, both at the origin the page was served from.

/** An error answered by the node (code and message as JSON-RPC sends them). */
export class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

let nextId = 1;

async function post(body) {
  const response = await fetch('/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new RpcError(response.status, `HTTP ${response.status}`);
  return response.json();
}

function unwrap(answer) {
  if (answer.error) throw new RpcError(answer.error.code, answer.error.message);
  return answer.result;
}

/** One JSON-RPC call; its result, or an RpcError. */
export async function call(method, ...params) {
  return unwrap(await post({ jsonrpc: '2.0', id: nextId++, method, params }));
}

const BATCH = 200;

/** Many calls ([method, params] pairs) in batches; their results in order (an RpcError in place of a failed one). */
export async function batch(calls) {
  const results = [];
  for (let start = 0; start < calls.length; start += BATCH) {
    const part = calls.slice(start, start + BATCH).map(([method, params]) => ({ jsonrpc: '2.0', id: nextId++, method, params }));
    if (part.length === 0) continue;
    const answers = await post(part);
    const byId = new Map(answers.map((a) => [a.id, a]));
    for (const request of part) {
      try {
        results.push(unwrap(byId.get(request.id) ?? { error: { code: -32603, message: 'no answer' } }));
      } catch (error) {
        results.push(error);
      }
    }
  }
  return results;
}

/** Calls ``onHead(header)`` for every new block header (eth_subscribe newHeads); returns a function that stops. */
export function subscribeHeads(onHead) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let socket = null;
  let stopped = false;
  let retry = null;
  const open = () => {
    socket = new WebSocket(`${scheme}//${location.host}/`);
    socket.onopen = () => socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.method === 'eth_subscription') onHead(message.params.result);
    };
    socket.onclose = () => {
      if (!stopped) retry = setTimeout(open, 2000);
    };
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    socket?.close();
  };
}
