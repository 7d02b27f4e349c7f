// uvsd's command line without a lab: --check-config on every dialect (good files say what
// they hold, bad ones name file:line and exit non-zero) and usage errors.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { KEEPALIVED_NAT, LVS_CF_DR, LVS_CF_NAT } from '../config/fixtures/examples.js';
import { UVSD } from './fixtures/uvsd.js';

function uvsd(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [UVSD, ...args], { timeout: 20_000 }, (error, out, err) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'uvsd-cli-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

t.test('--check-config recognises and validates each dialect', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['lvs-nat.cf', LVS_CF_NAT, /: lvs\.cf, 2 virtual service\(s\), 3 real server\(s\): OK\n$/],
    ['lvs-dr.cf', LVS_CF_DR, /: lvs\.cf, 2 virtual service\(s\), 3 real server\(s\): OK\n$/],
    ['keepalived.conf', KEEPALIVED_NAT, /: keepalived, 2 virtual service\(s\), 3 real server\(s\): OK\n$/],
    ['rules', '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2\n', /: ipvsadm-rules, 1 virtual service\(s\), 1 real server\(s\): OK\n$/],
  ];
  for (const [name, text, want] of cases) {
    const r = await uvsd(['--check-config', file(name, text)]);
    t.equal(r.code, 0, `${name}: exit 0 (${r.err})`);
    t.match(r.out, want, `${name}: what it holds`);
  }
});

t.test('--check-config on broken files: file:line and what was expected', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['bad.cf', 'serial_no = 1\nprimary = 10.0.0.1\nservice = lvs\nvirtual web {\n  active = 1\n  port = http\n  weight = x\n}\n', /bad\.cf:7: /],
    ['bad.conf', 'virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  real_server 10.0.1.1 80 {\n    weight 70000\n  }\n}\n', /bad\.conf:4: .*70000/],
    ['bad.rules', '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2 -x 1 -y 5\n', /bad\.rules:2: /],
    ['unknown', 'this is not a config\n', /unknown:1: cannot tell the config dialect/],
  ];
  for (const [name, text, want] of cases) {
    const r = await uvsd(['--check-config', file(name, text)]);
    t.not(r.code, 0, `${name}: refused`);
    t.match(r.err, want, `${name}: ${r.err.trim()}`);
  }
  const missing = await uvsd(['--check-config', join(dir, 'nope')]);
  t.match(missing.err, /nope: cannot read: ENOENT/, 'a missing file');
  const usage = await uvsd(['--workers', 'many']);
  t.match(usage.err, /--workers must be an integer 1\.\.16, got 'many'/, 'a bad flag value');
});
