// Coded errors, in the style of undici/fastify: every error uvs raises on purpose carries
// a stable `code` (UVS_*) so callers and tests can match on it, and a message that says
// where (interface, file:line, flag, packet field) and what.

export class UvsError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UvsError';
    this.code = code;
  }
}

/** An error from a system call made by the native shim or a helper command. */
export class SystemError extends UvsError {
  /** errno name, e.g. ENODEV, EPERM. */
  readonly errno: string;
  /** the call that failed, e.g. bind, setsockopt(PACKET_RX_RING). */
  readonly syscall: string;
  constructor(code: string, errno: string, syscall: string, message: string) {
    super(code, message);
    this.name = 'SystemError';
    this.errno = errno;
    this.syscall = syscall;
  }
}
