// Interface information (MAC, MTU, addresses) and gratuitous ARP, via the native shim.
// Both act in the caller's network namespace.

import { isIPv4 } from 'node:net';
import { callNative, invalidArgument } from './errors.js';
import { loadNative } from './native.js';

export interface InterfaceAddress {
  address: string;
  prefixLength: number;
  /** IPv6 only: the scope id (the ifindex for link-local addresses, else 0). */
  scopeId?: number;
}

export interface InterfaceInfo {
  name: string;
  ifindex: number;
  /** aa:bb:cc:dd:ee:ff, lower case. */
  mac: string;
  mtu: number;
  /** ARPHRD_* (1 = Ethernet, 772 = loopback). */
  hardwareType: number;
  /** IFF_* flags (low 16 bits). */
  flags: number;
  up: boolean;
  running: boolean;
  ipv4: InterfaceAddress[];
  ipv6: InterfaceAddress[];
}

function checkIfname(ifname: string): void {
  if (typeof ifname !== 'string' || ifname.length === 0 || ifname.length > 15)
    throw invalidArgument(`interface name must be 1..15 characters, got ${JSON.stringify(ifname)}`);
}

/** Reads name, index, MAC, MTU, flags and IPv4/IPv6 addresses of `ifname`. */
export function interfaceInfo(ifname: string): InterfaceInfo {
  checkIfname(ifname);
  const native = loadNative();
  return callNative(ifname, () => native.interfaceInfo(ifname));
}

export interface GratuitousArpOptions {
  /**
   * 'request' (default): op=1, sender = target = VIP, target MAC 00:00:00:00:00:00.
   * 'reply': op=2, sender = target = VIP, target MAC = own MAC. Both go to ff:ff:ff:ff:ff:ff.
   */
  form?: 'request' | 'reply';
  /** Sender MAC; default the interface's own MAC. */
  mac?: string;
  /** Copies sent back to back (1..1000). Default 1. */
  count?: number;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * Announces `ipv4` on `ifname` with gratuitous ARP, sent from a short-lived AF_PACKET socket
 * (needs CAP_NET_RAW). Returns the number of frames sent.
 */
export function sendGratuitousArp(ifname: string, ipv4: string, options: GratuitousArpOptions = {}): number {
  checkIfname(ifname);
  if (!isIPv4(ipv4)) throw invalidArgument(`gratuitous ARP needs an IPv4 address, got ${JSON.stringify(ipv4)}`);
  const form = options.form ?? 'request';
  if (form !== 'request' && form !== 'reply') throw invalidArgument(`ARP form must be 'request' or 'reply', got ${JSON.stringify(form)}`);
  if (options.mac !== undefined && !MAC_RE.test(options.mac)) throw invalidArgument(`bad MAC address ${JSON.stringify(options.mac)}`);
  const count = options.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw invalidArgument(`ARP count must be 1..1000, got ${count}`);
  const native = loadNative();
  const nopts: { form: 'request' | 'reply'; count: number; mac?: string } = { form, count };
  if (options.mac !== undefined) nopts.mac = options.mac.toLowerCase();
  return callNative(ifname, () => native.sendGratuitousArp(ifname, ipv4, nopts));
}
