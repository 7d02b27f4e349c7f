import t from 'tap';
import * as P from '../../src/packet/index.js';
import { UvsError } from '../../src/errors.js';

t.test('IPv4 text', async (t) => {
  t.equal(P.ip4FromString('192.0.2.1'), 0xc0000201);
  t.equal(P.ip4FromString('255.255.255.255'), 0xffffffff);
  t.equal(P.ip4ToString(0xc0000201), '192.0.2.1');
  t.equal(P.ip4ToString(-1), '255.255.255.255');
  for (const bad of ['1.2.3', '1.2.3.256', 'a.b.c.d', '1.2.3.4 ', '']) t.throws(() => P.ip4FromString(bad), UvsError, bad);
});

t.test('IPv6 text', async (t) => {
  const cases: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80::', 'fe80::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
  ];
  for (const [inp, out] of cases) t.equal(P.ip6ToString(P.ip6FromString(inp)), out, inp);
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', 'g::1', '12345::', '::1.2.3']) {
    t.throws(() => P.ip6FromString(bad), UvsError, bad);
  }
});

t.test('MAC and hex', async (t) => {
  t.equal(P.macToString(P.macFromString('AA-bb-cc-dd-ee-0F')), 'aa:bb:cc:dd:ee:0f');
  t.throws(() => P.macFromString('aa:bb:cc:dd:ee'), UvsError);
  t.equal(P.bytesToHex(P.hexToBytes('00 ff:10')), '00ff10');
  t.throws(() => P.hexToBytes('abc'), UvsError);
  t.throws(() => P.hexToBytes('zz'), UvsError);
});
