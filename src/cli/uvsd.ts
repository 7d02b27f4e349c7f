#!/usr/bin/env node
// uvsd: the director daemon. Lands with the daemon issue; until then it says so.
process.stderr.write('uvsd: not yet implemented (see the uvsd/uvsadm issue)\n');
process.exitCode = 2;
