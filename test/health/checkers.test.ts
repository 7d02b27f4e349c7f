// Health checkers on loopback: each kind against a server that passes and servers that fail
// in their specific ways (wrong status, wrong body, regex miss, digest mismatch, exit codes,
// missing program, hanging program, no echo reply, refused, silent, reset, garbage, floods),
// the agent protocol, the lab real server's agent port, and 300 concurrent checks with the
// event loop's worst delay printed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { HealthCheck } from '../../src/config/model.js';
import { AGENT_CHECKER, createChecker, SMTP_CHECKER, type CheckResult } from '../../src/health/checker.js';
import { parseAgentReply } from '../../src/health/checkers/agent.js';
import { splitCommandLine } from '../../src/health/checkers/external.js';
import { closeAll, closedPort, closedUdpPort, httpServer, httpsServer, LOOPBACK, replyingServer, tcpServer, udpServer, unacceptingServer, type HttpHandler } from './fixtures/servers.js';

/** Routed (default route) but never answered by ICMP here; 192.0.2.1 is this machine's gateway. */
const SILENT_ADDRESS = '203.0.113.1';

t.teardown(closeAll);
const work = mkdtempSync(join(tmpdir(), 'uvs-health-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

function check(spec: HealthCheck, port: number, options: { address?: string; protocol?: 'tcp' | 'udp'; signal?: AbortSignal } = {}): Promise<CheckResult> {
  return createChecker(spec, options.protocol ?? 'tcp').run({ address: options.address ?? LOOPBACK, port }, options.signal ?? new AbortController().signal);
}

t.test('factory: one checker per kind', async (t) => {
  const kinds = (spec: HealthCheck, protocol: 'tcp' | 'udp' = 'tcp'): string => createChecker(spec, protocol).kind;
  t.equal(kinds({ kind: 'tcp' }), 'tcp');
  t.equal(kinds({ kind: 'tcp', checker: SMTP_CHECKER }), 'smtp');
  t.equal(kinds({ kind: 'tcp', checker: AGENT_CHECKER }), 'agent');
  t.equal(kinds({ kind: 'send-expect' }, 'udp'), 'send-expect');
  t.equal(kinds({ kind: 'http' }), 'http');
  t.equal(kinds({ kind: 'https' }), 'https');
  t.equal(kinds({ kind: 'external', program: '/bin/true' }), 'external');
  t.equal(kinds({ kind: 'icmp' }), 'icmp');
  const none = await check({ kind: 'none', checker: 'DNS_CHECK' }, 53);
  t.same(none, { ok: true, reason: 'not checked (DNS_CHECK is not run by uvs)', ms: 0 });
});

t.test('tcp: connect, refused, no answer, caller abort, bad port', async (t) => {
  const up = await tcpServer();
  t.match(await check({ kind: 'tcp', timeout: 1 }, up.port), { ok: true, reason: 'connected' });
  // The spec's port overrides the server's.
  t.match(await check({ kind: 'tcp', timeout: 1, port: up.port }, 1), { ok: true });
  t.match(await check({ kind: 'tcp', timeout: 1 }, await closedPort()), { ok: false, reason: 'connect refused' });
  const full = await unacceptingServer();
  const silent = await check({ kind: 'tcp', timeout: 0.3 }, full.port);
  t.match(silent, { ok: false, reason: 'timeout after 300 ms connecting' });
  t.ok(silent.ms < 1000, `gave up in ${silent.ms} ms`);
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 50);
  t.match(await check({ kind: 'tcp', timeout: 10 }, full.port, { signal: abort.signal }), { ok: false, reason: 'aborted connecting' });
  t.match(await check({ kind: 'tcp', timeout: 1 }, up.port, { signal: AbortSignal.abort() }), { ok: false, reason: 'aborted before starting' });
  // A caller's own deadline (AbortSignal.timeout) reads as a timeout.
  t.match(await check({ kind: 'tcp', timeout: 10 }, full.port, { signal: AbortSignal.timeout(50) }), { ok: false, reason: 'timeout connecting' });
  t.match(await check({ kind: 'tcp', timeout: 1 }, 70000), { ok: false, reason: 'bad port 70000' });
});

t.test('send-expect over TCP', async (t) => {
  const ok = await replyingServer(() => 'OK ready\r\n');
  const hello = { kind: 'send-expect' as const, timeout: 1, send: 'HELLO\r\n' };
  t.match(await check({ ...hello, expect: 'OK' }, ok.port), { ok: true, reason: "reply starts with 'OK'" });
  t.match(await check({ ...hello, expect: 'ERR' }, ok.port), { ok: false, reason: "reply 'OK ready\\r\\n' does not start with 'ERR'" });
  t.match(await check({ ...hello, expect: '*' }, ok.port), { ok: true });
  t.match(await check({ ...hello, expect: 're+ady', regex: true }, ok.port), { ok: true, reason: 'reply matches /re+ady/' });
  const miss = await check({ ...hello, expect: '^busy', regex: true }, ok.port);
  t.match(miss, { ok: false, reason: "reply 'OK ready\\r\\n' does not match /^busy/" });
  t.ok(miss.ms < 900, `a regex miss is decided once the reply goes quiet (${miss.ms} ms), not at the timeout`);
  t.match(await check({ ...hello, expect: '(', regex: true }, ok.port), { ok: false, reason: /^bad regular expression \/\(\// });
  // No send: the server's banner is the reply; no expect: connect (and send) only.
  const banner = await replyingServer(() => '', '220 ready\r\n');
  t.match(await check({ kind: 'send-expect', timeout: 1, expect: '220' }, banner.port), { ok: true });
  t.match(await check({ kind: 'send-expect', timeout: 1, send: 'x' }, banner.port), { ok: true, reason: 'connected, sent' });
  t.match(await check({ ...hello, expect: 'OK' }, await closedPort()), { ok: false, reason: 'connect refused' });

  const silent = await tcpServer();
  t.match(await check({ ...hello, timeout: 0.3, expect: 'OK' }, silent.port), { ok: false, reason: 'timeout after 300 ms waiting for reply' });
  const slowPartial = await replyingServer(() => 'O');
  t.match(await check({ ...hello, timeout: 0.15, expect: 'OK' }, slowPartial.port), { ok: false, reason: "timeout after 150 ms waiting for reply (got 'O')" });
  // Once the reply goes quiet it is complete, as nanny judges what one read returned.
  t.match(await check({ ...hello, timeout: 1, expect: 'OK' }, slowPartial.port), { ok: false, reason: "reply 'O' is shorter than expect 'OK'" });
  const reset = await tcpServer((sock) => sock.on('data', () => sock.resetAndDestroy()));
  t.match(await check({ ...hello, expect: 'OK' }, reset.port), { ok: false, reason: 'connection reset waiting for reply' });
  const hangUp = await tcpServer((sock) => sock.on('data', () => sock.end()));
  t.match(await check({ ...hello, expect: 'OK' }, hangUp.port), { ok: false, reason: "no reply (expected 'OK')" });
  const garbage = await replyingServer(() => Buffer.from([0, 1, 2, 0xff, 0x1b, 0x5b]));
  t.match(await check({ ...hello, expect: 'OK' }, garbage.port), { ok: false, reason: "reply '\\x00\\x01\\x02\\xff\\x1b[' does not start with 'OK'" });
  // A flood is cut at 64 KiB and judged on that.
  const flood = await tcpServer((sock) => {
    const chunk = Buffer.alloc(1 << 20, 'x');
    const pump = (): void => {
      while (sock.writable && sock.write(chunk));
      if (sock.writable) sock.once('drain', pump);
    };
    pump();
  });
  const flooded = await check({ kind: 'send-expect', timeout: 2, expect: 'ready', regex: true }, flood.port);
  t.match(flooded, { ok: false, reason: /^reply 'x{40}\.\.\.' does not match \/ready\/$/ });
  t.match(await check({ kind: 'send-expect', timeout: 2, expect: 'OK' }, flood.port), { ok: false, reason: /does not start with 'OK'/ });
});

t.test('send-expect over UDP', async (t) => {
  const pong = await udpServer((msg) => (msg.toString() === 'PING' ? 'PONG 1' : 'NOPE'));
  const udp = { protocol: 'udp' as const };
  t.match(await check({ kind: 'send-expect', timeout: 1, send: 'PING', expect: 'PONG' }, pong.port, udp), { ok: true });
  t.match(await check({ kind: 'send-expect', timeout: 1, send: 'PING' }, pong.port, udp), { ok: true, reason: "reply 'PONG 1'" });
  t.match(await check({ kind: 'send-expect', timeout: 1, send: 'HELLO', expect: 'PONG' }, pong.port, udp), { ok: false, reason: "reply 'NOPE' does not start with 'PONG'" });
  t.match(await check({ kind: 'send-expect', timeout: 1, send: 'PING', expect: 'P.NG \\d', regex: true }, pong.port, udp), { ok: true });
  t.match(await check({ kind: 'send-expect', timeout: 1, send: 'PING', expect: 'PONG' }, await closedUdpPort(), udp), { ok: false, reason: 'port unreachable' });
  const silent = await udpServer(() => undefined);
  t.match(await check({ kind: 'send-expect', timeout: 0.3, send: 'PING', expect: 'PONG' }, silent.port, udp), { ok: false, reason: 'timeout after 300 ms waiting for reply' });
  t.match(await check({ kind: 'send-expect', timeout: 0.3, expect: 'PONG' }, silent.port, udp), {
    ok: false,
    reason: 'timeout after 300 ms waiting for reply (nothing sent: a UDP check needs send)',
  });
});

t.test('http and https', async (t) => {
  const big = Buffer.alloc(5 << 20, 'b');
  const handler: HttpHandler = (req, res) => {
    if (req.url === '/ok') res.end('all good\n');
    else if (req.url === '/fail') (res.statusCode = 503), res.end('busy\n');
    else if (req.url === '/degraded') res.end('status: degraded\n');
    else if (req.url === '/host') res.end(`host=${req.headers.host} agent=${req.headers['user-agent']}\n`);
    else if (req.url === '/big') res.end(big);
    else (res.statusCode = 404), res.end();
  };
  const web = await httpServer(handler);
  const http = (more: Partial<HealthCheck>): HealthCheck => ({ kind: 'http', timeout: 2, ...more });
  t.match(await check(http({ path: '/ok' }), web.port), { ok: true, reason: 'HTTP 200' });
  t.match(await check(http({ path: '/fail' }), web.port), { ok: false, reason: 'HTTP 503 (expected 200-299)' });
  t.match(await check(http({ path: '/fail', status: 200 }), web.port), { ok: false, reason: 'HTTP 503 (expected 200)' });
  t.match(await check(http({ path: '/fail', extra: { status_code: '200-299 503' } }), web.port), { ok: true, reason: 'HTTP 503' });
  t.match(await check(http({ path: '/missing' }), web.port), { ok: false, reason: 'HTTP 404 (expected 200-299)' });
  t.match(await check(http({ path: '/ok', expect: 'go+d', regex: true }), web.port), { ok: true });
  t.match(await check(http({ path: '/degraded', expect: 'go+d', regex: true }), web.port), { ok: false, reason: 'body does not match /go+d/' });
  t.match(await check(http({ path: '/degraded', expect: 'degraded', regex: true, extra: { regex_no_match: 'true' } }), web.port), {
    ok: false,
    reason: 'body matches /degraded/ (regex_no_match)',
  });
  const digest = createHash('md5').update('all good\n').digest('hex');
  t.match(await check(http({ path: '/ok', digest }), web.port), { ok: true });
  t.match(await check(http({ path: '/degraded', digest }), web.port), { ok: false, reason: `digest ${createHash('md5').update('status: degraded\n').digest('hex')} (expected ${digest})` });
  // The digest covers the whole body, past the 64 KiB kept for a regex.
  t.match(await check(http({ path: '/big', digest: createHash('md5').update(big).digest('hex') }), web.port), { ok: true });
  t.match(await check(http({ path: '/host', expect: `host=127\\.0\\.0\\.1:${web.port} agent=KeepAliveClient`, regex: true }), web.port), { ok: true });
  t.match(await check(http({ path: '/host', expect: 'host=www.example.com ', extra: { virtualhost: 'www.example.com', http_protocol: '1.1' } }), web.port), { ok: true });
  t.match(await check(http({ path: '/ok' }), await closedPort()), { ok: false, reason: 'connect refused' });

  const tls = await httpsServer(handler);
  t.match(await check({ kind: 'https', timeout: 2, path: '/ok', digest }, tls.port), { ok: true, reason: 'HTTP 200' });
  t.match(await check({ kind: 'https', timeout: 2, path: '/fail', extra: { enable_sni: 'true', virtualhost: 'www.example.com' } }, tls.port), { ok: false, reason: 'HTTP 503 (expected 200-299)' });
  t.match(await check({ kind: 'https', timeout: 2, path: '/ok' }, web.port), { ok: false, reason: /^TLS: / });

  const silent = await tcpServer();
  t.match(await check(http({ path: '/ok', timeout: 0.3 }), silent.port), { ok: false, reason: 'timeout after 300 ms waiting for the response' });
  const ssh = await replyingServer(() => 'SSH-2.0-OpenSSH_9.2\r\nProtocol mismatch.\r\n\r\n');
  t.match(await check(http({ path: '/ok' }), ssh.port), { ok: false, reason: "not an HTTP response 'SSH-2.0-OpenSSH_9.2'" });
  const cut = await tcpServer((sock) => sock.on('data', () => sock.end('HTTP/1.0 200 OK\r\nContent-')));
  t.match(await check(http({ path: '/ok' }), cut.port), { ok: false, reason: "incomplete response 'HTTP/1.0 200 OK\\r\\nContent-'" });
  const reset = await tcpServer((sock) => sock.on('data', () => sock.resetAndDestroy()));
  t.match(await check(http({ path: '/ok' }), reset.port), { ok: false, reason: 'connection reset waiting for the response' });
  const endless = await tcpServer((sock) => sock.on('data', () => sock.write(Buffer.alloc(200 << 10, 'h'))));
  t.match(await check(http({ path: '/ok' }), endless.port), { ok: false, reason: 'response headers longer than 64 KiB' });
});

t.test('external program', async (t) => {
  const program = (line: string, more: Partial<HealthCheck> = {}): HealthCheck => ({ kind: 'external', timeout: 2, program: line, ...more });
  t.match(await check(program('/bin/true'), 80), { ok: true, reason: 'exit 0' });
  t.match(await check(program('/bin/false'), 80), { ok: false, reason: 'exit 1' });
  t.match(await check(program("/bin/sh -c 'echo db unreachable; exit 1'"), 80), { ok: false, reason: "exit 1 ('db unreachable')" });
  t.match(await check(program("/bin/sh -c 'exit 7'"), 80), { ok: false, reason: 'exit 7' });
  const dynamic = { extra: { misc_dynamic: 'true' } };
  t.match(await check(program("/bin/sh -c 'exit 7'", dynamic), 80), { ok: true, weight: 5, reason: 'exit 7: weight 5' });
  t.match(await check(program("/bin/sh -c 'exit 2'", dynamic), 80), { ok: true, weight: 0 });
  t.match(await check(program('/bin/false', dynamic), 80), { ok: false, reason: 'exit 1' });
  const plain = await check(program('/bin/true', dynamic), 80);
  t.equal(plain.weight, undefined, 'exit 0 keeps the weight');
  // %h and %p become the server's address and port, inside words too; no shell sees them.
  t.match(await check(program('/bin/sh -c \'test "$0" = 127.0.0.1 && test "$1" = "--port=8080"\' %h --port=%p'), 8080), { ok: true });
  t.match(await check(program('/nope/check-it %h'), 80), { ok: false, reason: 'program not found: /nope/check-it' });
  const notExecutable = join(work, 'not-executable.sh');
  writeFileSync(notExecutable, '#!/bin/sh\nexit 0\n');
  chmodSync(notExecutable, 0o644);
  t.match(await check(program(notExecutable), 80), { ok: false, reason: `program not executable: ${notExecutable}` });
  t.match(await check(program("/bin/echo 'oops"), 80), { ok: false, reason: /^unterminated ' in command line/ });
  // lvs.cf send_program + expect: the output must be exactly expect.
  t.match(await check(program('/bin/echo up', { expect: 'up' }), 80), { ok: true, reason: 'output matches' });
  t.match(await check(program('/bin/echo down', { expect: 'up' }), 80), { ok: false, reason: "output 'down' (expected 'up')" });

  // A program that hangs, with a child of its own: the whole group is killed at the timeout and reaped.
  const pids = join(work, 'pids');
  const hung = await check(program(`/bin/sh -c 'sleep 30 & echo $$ $! > ${pids}; wait'`, { timeout: 0.5 }), 80);
  t.match(hung, { ok: false, reason: 'timeout after 500 ms waiting for the program' });
  t.ok(hung.ms < 1500, `reported ${hung.ms} ms after the start`);
  const [shell, sleeper] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
  t.notOk(existsSync(`/proc/${shell}`), 'the program is gone and reaped (no zombie)');
  // The sleep got the same SIGKILL (it may take a moment to die) and is pid 1's to reap: it must stop running.
  const stateOf = (pid: number): string => (existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0]! : 'gone');
  let state = stateOf(sleeper!);
  for (let waited = 0; !/^(gone|Z|X)$/.test(state) && waited < 1000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    state = stateOf(sleeper!);
  }
  t.match(state, /^(gone|Z|X)$/, `its child was killed too (${state})`);

  const abort = new AbortController();
  setTimeout(() => abort.abort(), 100);
  t.match(await check(program('/bin/sleep 30', { timeout: 10 }), 80, { signal: abort.signal }), { ok: false, reason: 'aborted waiting for the program' });
});

t.test('command lines split like sh words', async (t) => {
  t.same(splitCommandLine('/bin/check  --host %h\t-p %p'), ['/bin/check', '--host', '%h', '-p', '%p']);
  t.same(splitCommandLine(`prog 'a b' "c \\"d\\" \\x" e\\ f ''`), ['prog', 'a b', 'c "d" \\x', 'e f', '']);
  t.same(splitCommandLine('a"b"\'c\''), ['abc']);
  t.equal(splitCommandLine('   '), 'empty command line');
  t.match(splitCommandLine('prog "open'), /^unterminated "/);
});

t.test('icmp echo', async (t) => {
  t.match(await check({ kind: 'icmp', timeout: 1 }, 0), { ok: true, reason: 'echo reply' });
  t.match(await check({ kind: 'icmp', timeout: 1 }, 0, { address: '::1' }), { ok: true, reason: 'echo reply' });
  // Many at once share one socket, each matched to its own reply.
  const many = await Promise.all(Array.from({ length: 50 }, () => check({ kind: 'icmp', timeout: 2 }, 0)));
  t.equal(many.filter((r) => r.ok).length, 50, 'all 50 concurrent pings answered');
  const silent = await check({ kind: 'icmp', timeout: 0.5 }, 0, { address: SILENT_ADDRESS });
  t.notOk(silent.ok);
  t.match(silent.reason, /^(no echo reply \(timeout after 500 ms\)|.*unreachable.*)$/);
  t.match(await check({ kind: 'icmp', timeout: 1 }, 0, { address: 'localhost' }), { ok: false, reason: 'not an IP address: localhost' });
});

t.test('agent replies', async (t) => {
  t.same(parseAgentReply('75%'), { ok: true, reason: 'agent: 75%', percent: 75 });
  t.same(parseAgentReply('up'), { ok: true, reason: 'agent: up' });
  t.same(parseAgentReply(' ready '), { ok: true, reason: 'agent: ready' });
  t.same(parseAgentReply('up 50%'), { ok: true, reason: 'agent: up 50%', percent: 50 });
  t.same(parseAgentReply('maxconn:30,up,12.5%'), { ok: true, reason: 'agent: maxconn:30,up,12.5%', percent: 12.5 });
  t.same(parseAgentReply('drain'), { ok: true, reason: 'agent: drain', drain: true, weight: 0 });
  t.same(parseAgentReply('down'), { ok: false, reason: 'agent: down' });
  t.same(parseAgentReply('DOWN disk full'), { ok: false, reason: 'agent: down (disk full)' });
  t.same(parseAgentReply('stopped #maintenance window'), { ok: false, reason: 'agent: stopped (maintenance window)' });
  t.same(parseAgentReply('50% fail db'), { ok: false, reason: 'agent: fail (db)' });
  t.same(parseAgentReply('hello world'), { ok: false, reason: "agent: unparsable reply 'hello world'" });
  t.same(parseAgentReply('maxconn:3'), { ok: false, reason: "agent: unparsable reply 'maxconn:3'" });
  t.same(parseAgentReply('1000%'), { ok: false, reason: "agent: unparsable reply '1000%'" });
  t.same(parseAgentReply(''), { ok: false, reason: 'agent: empty reply' });
});

t.test('agent check against agents', async (t) => {
  const agentSaying = (text: string | Buffer): Promise<{ port: number }> => tcpServer((sock) => sock.end(text));
  const agent = (port: number, more: Partial<HealthCheck> = {}): Promise<CheckResult> => check({ kind: 'tcp', checker: AGENT_CHECKER, timeout: 0.5, port, ...more }, 80);
  t.match(await agent((await agentSaying('75%\n')).port), { ok: true, percent: 75 });
  t.match(await agent((await agentSaying('drain\r\n')).port), { ok: true, drain: true, weight: 0 });
  t.match(await agent((await agentSaying('down\n')).port), { ok: false, reason: 'agent: down' });
  t.match(await agent((await agentSaying('up')).port), { ok: true }, 'a line without its newline, then close');
  t.match(await agent((await agentSaying(Buffer.from([0xde, 0xad, 0x0a]))).port), { ok: false, reason: /^agent: unparsable reply/ });
  t.match(await agent((await agentSaying('')).port), { ok: false, reason: 'agent: empty reply' });
  t.match(await agent((await agentSaying(Buffer.alloc(1 << 20, 'z'))).port), { ok: false, reason: /^agent: unparsable reply 'z+\.\.\.' \(no end of line in 1024 bytes\)$/ });
  t.match(await agent((await tcpServer()).port), { ok: false, reason: 'timeout after 500 ms waiting for the agent' });
  t.match(await agent((await tcpServer((sock) => sock.resetAndDestroy())).port), { ok: false, reason: /^connection reset|^agent: empty reply$/ });
  t.match(await agent(await closedPort()), { ok: false, reason: 'connect refused' });
  // An agent that wants a question first (HAProxy agent-send).
  const asking = await replyingServer((d) => (d.toString() === 'load?\n' ? '30%\n' : 'fail what?\n'));
  t.match(await agent(asking.port, { send: 'load?\n' }), { ok: true, percent: 30 });
});

t.test('smtp', async (t) => {
  const mail = await replyingServer((d) => (/^HELO smtpchecker\.keepalived\.org\r\n$/.test(d.toString()) ? '250-mail\r\n250 PIPELINING\r\n' : '221 bye\r\n'), '220-mail ESMTP\r\n220 ready\r\n');
  t.match(await check({ kind: 'tcp', checker: SMTP_CHECKER, timeout: 1 }, mail.port), { ok: true, reason: 'SMTP 250' });
  const refusing = await replyingServer(() => '', '554 no service here\r\n');
  t.match(await check({ kind: 'tcp', checker: SMTP_CHECKER, timeout: 1 }, refusing.port), { ok: false, reason: "SMTP greeting '554 no service here' (expected 220)" });
  const picky = await replyingServer(() => '501 bad name\r\n', '220 ok\r\n');
  t.match(await check({ kind: 'tcp', checker: SMTP_CHECKER, timeout: 1, extra: { helo_name: 'me' } }, picky.port), { ok: false, reason: "HELO answered '501 bad name' (expected 250)" });
});

t.test('the lab real server answers agent checks from its file', async (t) => {
  const realServer = fileURLToPath(new URL('../../src/lab/real-server.js', import.meta.url));
  const agentPort = await closedPort();
  const file = join(work, 'agent');
  writeFileSync(file, '50%\n');
  const ports = ['--echo-port', '0', '--identify-port', '0', '--digest-port', '0', '--http-port', '0', '--http2-port', '0'];
  const child = spawn(process.execPath, [realServer, '--name', 'rs-test', ...ports, '--agent-port', String(agentPort), '--agent-file', file, '--ready-fd', '3'], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
  t.teardown(() => void child.kill('SIGTERM'));
  await new Promise<void>((resolve, reject) => {
    child.stdio[3]!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`real server exited ${code}`)));
  });
  const agent = (): Promise<CheckResult> => check({ kind: 'tcp', checker: AGENT_CHECKER, timeout: 1, port: agentPort }, 80);
  t.match(await agent(), { ok: true, percent: 50 });
  writeFileSync(file, 'drain\n');
  t.match(await agent(), { ok: true, drain: true });
  writeFileSync(file, 'down overloaded\n');
  t.match(await agent(), { ok: false, reason: 'agent: down (overloaded)' });
});

t.test('300 checks at once do not stall the event loop', async (t) => {
  // The listeners live in a child, so this process's event loop carries only the checkers.
  const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/listeners.js', import.meta.url)), '300'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => void child.stdin!.end());
  const ports = JSON.parse(await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString())))) as number[];
  const specs: HealthCheck[] = [
    { kind: 'tcp', timeout: 10 },
    { kind: 'send-expect', timeout: 10, send: 'PING\n', expect: 'OK' },
    { kind: 'http', timeout: 10, path: '/', expect: 'fine', regex: true },
  ];
  const checkers = ports.map((_, i) => createChecker(specs[i % 3]!, 'tcp'));
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const started = performance.now();
  const results = await Promise.all(checkers.map((c, i) => c.run({ address: LOOPBACK, port: ports[i]! }, new AbortController().signal)));
  const took = performance.now() - started;
  delay.disable();
  const maxDelayMs = delay.max / 1e6;
  console.log(`300 concurrent checks: ${took.toFixed(0)} ms, max event-loop delay ${maxDelayMs.toFixed(1)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms)`);
  t.comment(`max event-loop delay ${maxDelayMs.toFixed(1)} ms`);
  t.same(
    results.filter((r) => !r.ok).map((r) => r.reason),
    [],
    'every check completed and passed',
  );
  t.equal(results.length, 300);
});
