// The nftables table `uvs decap` installs so that the kernel of a real server without an
// ipip module does not answer every tunnelled packet with ICMP "protocol unreachable":
//
//   table ip uvs_decap {
//     comment "uvs decap pid=1234 start=5678 if=eth0 tun=uvsdecap0"
//     chain input {
//       type filter hook input priority filter - 10; policy accept;
//       iifname "eth0" ip protocol 4 counter drop comment "..."
//     }
//   }
//
// The input hook only sees packets addressed to a local address, and AF_PACKET taps have
// seen the frame before IP input runs, so decap's socket still gets it. The comment records
// the owner (PID and start time, so a reused PID is not mistaken for it); a start finds a
// leftover of a dead owner and replaces it in one transaction, refuses to take the table of
// a live one, and the owner deletes the table on exit only while it is still its own.

import { execFileSync } from 'node:child_process';
import { UvsError } from '../errors.js';
import { ownerAlive } from './host.js';
import { DECAP_ERROR_CODES } from './tun.js';

export const DEFAULT_NFT_TABLE = 'uvs_decap';

export interface NftOwner {
  pid: number;
  startTime: number;
}

export interface NftTableSpec {
  /** Table name (family ip). */
  table: string;
  /** Interface whose tunnelled packets are dropped (the one decap listens on). */
  ifname: string;
  /** IP protocols to drop: 4 (IPIP), and 41 (6in4) when decapsulating it. */
  protocols: number[];
  /** TUN device, for the comment. */
  tun: string;
  owner: NftOwner;
}

export interface NftTableState {
  exists: boolean;
  /** Owner recorded in the table's comment (absent for a table not made by uvs decap). */
  owner?: NftOwner;
  /** The owner is a live process in this namespace. */
  ownerAlive: boolean;
  /** `nft list table` output. */
  text?: string;
}

const TABLE_RE = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;

export function checkTableName(table: string): void {
  if (!TABLE_RE.test(table))
    throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `nftables table name must be a letter then up to 31 letters, digits or _, got ${JSON.stringify(table)}`);
}

function nft(args: string[], input?: string): string {
  try {
    return execFileSync('nft', args, {
      encoding: 'utf8',
      timeout: 10_000,
      input,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT')
      throw new UvsError(
        DECAP_ERROR_CODES.NFT,
        'the `nft` command (nftables) is not installed; install it, or run with --no-nft and drop ' +
          'IP protocol 4 on input yourself (e.g. `iptables -I INPUT -p 4 -j DROP`), or the kernel ' +
          'answers every tunnelled packet with ICMP protocol unreachable',
        { cause: err },
      );
    throw new UvsError(DECAP_ERROR_CODES.NFT, `nft ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

/** The table's ruleset text (for `nft -f`). */
export function nftTableText(spec: NftTableSpec): string {
  checkTableName(spec.table);
  if (!/^[^"\\\s]{1,15}$/.test(spec.ifname)) throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `interface name not usable in nft: ${JSON.stringify(spec.ifname)}`);
  const protos = spec.protocols.map((p) => {
    if (!Number.isInteger(p) || p < 0 || p > 255) throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `bad IP protocol ${p}`);
    return String(p);
  });
  const proto = protos.length === 1 ? protos[0]! : `{ ${protos.join(', ')} }`;
  return [
    `table ip ${spec.table} {`,
    `  comment "uvs decap pid=${spec.owner.pid} start=${spec.owner.startTime} if=${spec.ifname} tun=${spec.tun}"`,
    '  chain input {',
    '    type filter hook input priority filter - 10; policy accept;',
    `    iifname "${spec.ifname}" ip protocol ${proto} counter drop comment "tunnelled packets are decapsulated by uvs decap into ${spec.tun}; without this the kernel answers ICMP protocol unreachable"`,
    '  }',
    '}',
    '',
  ].join('\n');
}

const OWNER_RE = /comment "uvs decap pid=(\d+) start=(\d+)/;

/** Looks at table ip `table`: does it exist, who made it, is that process alive? */
export function nftTableState(table: string): NftTableState {
  checkTableName(table);
  let text: string;
  try {
    text = execFileSync('nft', ['list', 'table', 'ip', table], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') nft(['--version']); // throws the "not installed" error
    if (/No such file or directory|does not exist/i.test(e.stderr ?? '')) return { exists: false, ownerAlive: false };
    throw new UvsError(DECAP_ERROR_CODES.NFT, `nft list table ip ${table} failed: ${(e.stderr ?? String(err)).trim()}`, { cause: err });
  }
  const m = OWNER_RE.exec(text);
  if (!m) return { exists: true, ownerAlive: false, text };
  const owner = { pid: Number(m[1]), startTime: Number(m[2]) };
  return { exists: true, owner, ownerAlive: ownerAlive(owner.pid, owner.startTime), text };
}

export interface NftInstallResult {
  /** The state found before installing (a leftover that was replaced, if exists). */
  previous: NftTableState;
}

/**
 * Installs the table, atomically replacing a leftover (a table of a dead owner, or one not
 * made by uvs decap when `replaceForeign`). Throws UVS_DECAP_BUSY when a live uvs decap
 * owns it.
 */
export function installNftTable(spec: NftTableSpec, options: { replaceForeign?: boolean } = {}): NftInstallResult {
  const previous = nftTableState(spec.table);
  if (previous.exists) {
    if (previous.owner && previous.ownerAlive && previous.owner.pid !== spec.owner.pid)
      throw new UvsError(
        DECAP_ERROR_CODES.BUSY,
        `nftables table ip ${spec.table} belongs to uvs decap pid ${previous.owner.pid}, which is still running in this namespace; ` +
          'stop it first, or give this instance its own --nft-table (and --tun)',
      );
    if (!previous.owner && !options.replaceForeign)
      throw new UvsError(
        DECAP_ERROR_CODES.BUSY,
        `nftables table ip ${spec.table} exists and was not made by uvs decap; remove it (nft delete table ip ${spec.table}) or choose another --nft-table`,
      );
  }
  // "table X" creates it if missing, so the delete never fails; the three commands are one
  // transaction: there is no moment without the drop rule when a leftover is replaced.
  nft(['-f', '-'], `table ip ${spec.table}\ndelete table ip ${spec.table}\n${nftTableText(spec)}`);
  return { previous };
}

/**
 * Deletes the table if it is still `owner`'s (another instance may have replaced it).
 * Returns true when it was deleted.
 */
export function removeNftTable(table: string, owner: NftOwner): boolean {
  const st = nftTableState(table);
  if (!st.exists || !st.owner || st.owner.pid !== owner.pid || st.owner.startTime !== owner.startTime) return false;
  nft(['delete', 'table', 'ip', table]);
  return true;
}
