// uvs decap: a userspace IPIP (and 6in4) decapsulator for LVS-TUN real servers whose kernel
// has no ipip module. AF_PACKET in, TUN out. See docs/decap.md.

export { DECAP, DECAPSULATED, DROPPED, DecapCore } from './core.js';
export type { DecapCoreOptions, DecapCounterName, DecapStats, FrameMeta } from './core.js';
export { Decapsulator, decapFilterSource, MAX_FILTER_ADDRESSES } from './decapsulator.js';
export type { DecapsulatorOptions } from './decapsulator.js';
export { DecapService, DEFAULT_DECAP_IF, DEFAULT_TUN } from './service.js';
export type { DecapServiceInfo, DecapServiceOptions, DecapStopReport } from './service.js';
export { DEFAULT_NFT_TABLE, installNftTable, nftTableState, nftTableText, removeNftTable } from './nft.js';
export type { NftOwner, NftTableSpec, NftTableState } from './nft.js';
export { closeTun, DECAP_ERROR_CODES, openTun } from './tun.js';
export type { TunOptions } from './tun.js';
export { kernelTunnelSupport, localIPv4Addresses } from './host.js';
