#!/usr/bin/env node
// uvsadm: the ipvsadm-compatible admin CLI. Lands with the daemon issue; until then it says so.
process.stderr.write('uvsadm: not yet implemented (see the uvsd/uvsadm issue)\n');
process.exitCode = 2;
