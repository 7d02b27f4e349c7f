// uvsd's admin protocol: newline-delimited JSON over a Unix stream socket. A client sends
// one request object per line, `{ "id": N, "op": "...", ... }`, and gets one response
// line `{ "id": N, "ok": true, ... }` or `{ "id": N, "ok": false, "error": "...",
// "exitCode": N }` (the exit code uvsadm should use, as ipvsadm would). The socket file is
// mode 0600: only root (the owner) may talk to the daemon.

import { connect } from 'node:net';
import { UvsError } from '../errors.js';

export interface Request {
  op: string;
  [key: string]: unknown;
}

export interface Response {
  ok: boolean;
  error?: string;
  exitCode?: number;
  [key: string]: unknown;
}

/** Longest request or response line accepted (a listing of many connections fits). */
export const MAX_LINE = 64 * 1024 * 1024;

/** Sends one request and resolves with the response; rejects if the daemon is not there. */
export function request(socketPath: string, req: Request, timeoutMs = 10_000): Promise<Response> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new UvsError('UVS_DAEMON_TIMEOUT', `uvsd at ${socketPath} did not answer '${req.op}' within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ id: 1, ...req }) + '\n'));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_LINE) sock.destroy(new UvsError('UVS_DAEMON_PROTOCOL', 'response too long'));
        return;
      }
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as Response);
      } catch {
        reject(new UvsError('UVS_DAEMON_PROTOCOL', `uvsd sent a response that is not JSON: ${buf.slice(0, 80)}`));
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
