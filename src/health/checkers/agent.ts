// Agent check client: load feedback from the real server in the style of HAProxy's
// agent-check (the protocol: docs/health-agent.md). Piranha's load_monitor did this job
// with rup/ruptime/uptime; an agent line is simpler to produce and to trust.
//
// Connect to the agent port (the spec's port, default 9002: the lab's real server), write
// `send` if there is one, read one line, close. The line is words separated by blanks or
// commas: "75%" (load feedback: that share of the configured weight), "up"/"ready",
// "drain" (up, but weight 0), "down"/"fail"/"failed"/"stopped"/"stopping"/"maint" (down,
// the rest of the line is the reason), "maxconn:N" (accepted, ignored).

import type { HealthCheck } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../checker.js';
import { endpointOf, quote, runCheck, timeoutOf, type Verdict } from './common.js';
import { connectStream, readLine } from './stream.js';

/** The agent's port when the spec names none (the lab's real server listens there). */
export const DEFAULT_AGENT_PORT = 9002;
/** An agent line is short; anything longer is not an agent speaking. */
const LINE_CAP = 1024;

const UP_WORDS = new Set(['up', 'ready']);
const DOWN_WORDS = new Set(['down', 'fail', 'failed', 'stopped', 'stopping', 'maint']);

/** The verdict of one agent line (exported for the docs' examples and tests). */
export function parseAgentReply(line: string): Verdict {
  const text = line.trim();
  if (text === '') return { ok: false, reason: 'agent: empty reply' };
  const unparsable: Verdict = { ok: false, reason: `agent: unparsable reply ${quote(line)}` };
  let state: 'up' | 'drain' | undefined;
  let percent: number | undefined;
  const word = /[^\s,]+/g;
  for (let m = word.exec(text); m !== null; m = word.exec(text)) {
    const w = m[0].toLowerCase();
    if (DOWN_WORDS.has(w)) {
      // HAProxy puts a description after '#'; both "down disk full" and "down #disk full" read well.
      const rest = text.slice(m.index + w.length).replace(/^[\s,#]+/, '').trim();
      return { ok: false, reason: `agent: ${w}${rest !== '' ? ` (${rest.slice(0, 80)})` : ''}` };
    }
    const share = /^(\d{1,3}(?:\.\d+)?)%$/.exec(w);
    if (share) percent = Number(share[1]);
    else if (UP_WORDS.has(w)) state ??= 'up';
    else if (w === 'drain') state = 'drain';
    else if (!/^maxconn:\d+$/.test(w)) return unparsable;
  }
  if (state === undefined && percent === undefined) return unparsable;
  const verdict: Verdict = { ok: true, reason: `agent: ${text.replace(/\s+/g, ' ')}` };
  if (percent !== undefined) verdict.percent = percent;
  if (state === 'drain') {
    verdict.drain = true;
    verdict.weight = 0;
  }
  return verdict;
}

export class AgentChecker implements Checker {
  readonly kind = 'agent';

  constructor(private readonly spec: HealthCheck) {}

  run(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
    return runCheck(timeoutOf(this.spec), signal, async (run) => {
      const sock = await connectStream(run, endpointOf({ ...this.spec, port: this.spec.port ?? DEFAULT_AGENT_PORT }, target));
      if (this.spec.send !== undefined && this.spec.send !== '') sock.write(this.spec.send);
      const reply = await readLine(run, sock, 'waiting for the agent', LINE_CAP);
      if (reply.capped && !reply.data.includes(0x0a)) return { ok: false, reason: `agent: unparsable reply ${quote(reply.data)} (no end of line in ${LINE_CAP} bytes)` };
      return parseAgentReply(reply.line);
    });
  }
}
