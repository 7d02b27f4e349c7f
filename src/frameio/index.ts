// Frame I/O: AF_PACKET TPACKET_V3 rings over a small native shim. See docs/frame-io.md.

export * from './constants.js';
export { FRAMEIO_ERROR_CODES, translateNativeError } from './errors.js';
export { loadNative, addonCandidates } from './native.js';
export type { NativeBinding, NativeSocket, NativeOpenOptions, NativeLayout } from './native.js';
export { RxRing } from './rx-ring.js';
export { TxRing } from './tx-ring.js';
export { FrameSocket } from './frame-socket.js';
export type { FrameSocketOptions, RxRingOptions, TxRingOptions, FanoutMode, FanoutOptions, FrameSocketStats } from './frame-socket.js';
export { BPF, SKF_AD, SKF_AD_OFF, assemble, encode, decode, stmt, jump, fanoutToMember, acceptAll } from './bpf.js';
export type { BpfInstruction } from './bpf.js';
export { interfaceInfo, sendGratuitousArp } from './interface.js';
export type { InterfaceInfo, InterfaceAddress, GratuitousArpOptions } from './interface.js';
export { PollSet } from './poll-set.js';
