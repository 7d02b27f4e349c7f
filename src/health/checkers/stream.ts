// Stream I/O for checkers (TCP, and TLS for SSL_GET): connect within the run's deadline and
// read what the peer sends, bounded in time and size. keepalived's layer4.c
// (tcp_connect/tcp_socket_state) does this part for its TCP, HTTP and SMTP checkers.

import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { assertPort, errorReason, quote, REPLY_CAP, step, type CheckRun, type Endpoint } from './common.js';

export interface TlsOptions {
  /** SNI name (keepalived enable_sni / sni_name); none for an address. */
  servername?: string;
}

/**
 * A connected socket (TLS when `tls` is given, certificates not verified, as keepalived's
 * SSL_GET without a CA), destroyed when the run ends. Rejects with a CheckFailure.
 */
export async function connectStream(run: CheckRun, to: Endpoint, tls?: TlsOptions): Promise<Socket> {
  assertPort(to.port);
  const options = { host: to.address, port: to.port, localAddress: to.localAddress, localPort: to.localPort };
  const sock: Socket = tls
    ? tlsConnect({ ...options, rejectUnauthorized: false, ...(tls.servername !== undefined ? { servername: tls.servername } : {}) })
    : netConnect(options);
  run.onEnd(() => sock.destroy());
  // Errors after the connect are read by `consume`; this listener only keeps a late one from being unhandled.
  sock.on('error', () => {});
  const connected = tls ? 'secureConnect' : 'connect';
  return step<Socket>(
    run,
    () => run.stoppedReason(tls ? 'connecting (TCP or TLS handshake)' : 'connecting'),
    (ok, fail) => {
      const onConnect = (): void => ok(sock);
      const onError = (err: Error): void => fail(errorReason(err));
      sock.once(connected, onConnect);
      sock.once('error', onError);
      return () => {
        sock.off(connected, onConnect);
        sock.off('error', onError);
      };
    },
  );
}

export interface ReadOptions {
  /** What the check was doing, for reasons: "waiting for reply". */
  phase: string;
  /** What had arrived, added to a failure's reason. */
  partial?: () => Buffer;
  /** Once something arrived, stop after this long without more ('quiet'): the reply is taken as complete. */
  quietMs?: number;
}

/**
 * Feed what the peer sends to `take` until it returns true ('done'), the peer closes
 * ('ended'), or it goes quiet ('quiet', with `quietMs`). A reset or the run's deadline
 * fails the step.
 */
export function consume(run: CheckRun, sock: Socket, take: (chunk: Buffer) => boolean, options: ReadOptions): Promise<'done' | 'ended' | 'quiet'> {
  const { phase, partial, quietMs } = options;
  const got = (): string => {
    const data = partial?.();
    return data !== undefined && data.length > 0 ? ` (got ${quote(data)})` : '';
  };
  return step<'done' | 'ended' | 'quiet'>(
    run,
    () => `${run.stoppedReason(phase)}${got()}`,
    (ok, fail) => {
      let quiet: NodeJS.Timeout | undefined;
      const onData = (chunk: Buffer): void => {
        if (take(chunk)) return ok('done');
        if (quietMs === undefined) return;
        clearTimeout(quiet);
        quiet = setTimeout(() => ok('quiet'), quietMs);
      };
      const onEnd = (): void => ok('ended');
      const onError = (err: Error): void => fail(`${errorReason(err)} ${phase}${got()}`);
      const stop = (): void => {
        clearTimeout(quiet);
        sock.off('data', onData);
        sock.off('end', onEnd);
        sock.off('close', onEnd);
        sock.off('error', onError);
        sock.pause();
      };
      if (sock.errored) onError(sock.errored);
      else if (sock.readableEnded || sock.destroyed) onEnd();
      else {
        sock.on('data', onData);
        sock.once('end', onEnd);
        sock.once('close', onEnd);
        sock.once('error', onError);
        sock.resume();
      }
      return stop;
    },
  );
}

export interface Reply {
  /** What arrived, at most the cap. */
  data: Buffer;
  /** The reply is over without `enough` being satisfied: the peer closed, or went quiet. */
  ended: boolean;
  /** The reply reached the cap (the rest was not read). */
  capped: boolean;
}

/** Read until `enough(data)`, the peer closes or goes quiet, or `cap` bytes; bounded by the run. */
export async function readReply(run: CheckRun, sock: Socket, enough: (data: Buffer) => boolean, options: Omit<ReadOptions, 'partial'> & { cap?: number }): Promise<Reply> {
  const cap = options.cap ?? REPLY_CAP;
  let data = Buffer.alloc(0);
  let capped = false;
  const take = (chunk: Buffer): boolean => {
    data = Buffer.concat([data, chunk]);
    if (data.length >= cap) {
      data = data.subarray(0, cap);
      capped = true;
    }
    return capped || enough(data);
  };
  const outcome = await consume(run, sock, take, { ...options, partial: () => data });
  return { data, ended: outcome !== 'done', capped };
}

/** Read one line (up to "\n", without it and a "\r" before it), or what came before the peer closed. */
export async function readLine(run: CheckRun, sock: Socket, phase: string, cap: number): Promise<Reply & { line: string }> {
  const reply = await readReply(run, sock, (data) => data.includes(0x0a), { phase, cap });
  const newline = reply.data.indexOf(0x0a);
  const line = (newline >= 0 ? reply.data.subarray(0, newline) : reply.data).toString('utf8').replace(/\r$/, '');
  return { ...reply, line };
}
