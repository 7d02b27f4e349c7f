// A whole uvsadm invocation as a pure function of the state it acts on: parse, then print
// the usage/version, list, save, restore from the given stdin text, or apply the command,
// giving back the new state, stdout, stderr and the exit code ipvsadm would give. -R runs
// its lines in order: a usage error or try-help ends the run (exit 2 / 255), a kernel error
// or a popt error only fails its line, -h/-v end it with 0, and the exit code is the last
// line's (0 or 255). Reference: ipvsadm.md 1, 5, 8.3; ipvsadm 1.31 process_options.

import type { ServiceTable } from '../../config/model.js';
import { applyCommand, applyDaemonCommand } from './apply.js';
import { parseArgs } from './args.js';
import { formatListing } from './format.js';
import { listingDataOf } from './listing-data.js';
import { builtinNames } from './names.js';
import { splitRestoreLines } from './restore.js';
import { formatSave } from './save.js';
import type { Command, ListingData, NameService, SyncDaemon } from './types.js';
import { usageText, VERSION_LINE } from './usage.js';

export interface UvsadmState {
  table: ServiceTable;
  daemons: SyncDaemon[];
}

export interface RunEnvironment {
  /** argv[0] as invoked (default "ipvsadm"). */
  prog?: string;
  names?: NameService;
  /** Live listing data for a state (default: the model with zero counters). */
  listing?: (state: UvsadmState) => ListingData;
  /** The text -R reads. */
  stdin?: string;
}

export interface RunOutcome {
  state: UvsadmState;
  stdout: string;
  stderr: string;
  exitCode: number;
  /** The commands that took effect, in order (e.g. so a daemon can zero counters for -Z). */
  applied: Command[];
}

type Step = { stop: boolean; exitCode: number };

class Run {
  stdout = '';
  stderr = '';
  readonly applied: Command[] = [];
  constructor(
    public state: UvsadmState,
    private readonly env: RunEnvironment,
  ) {}

  get prog(): string {
    return this.env.prog ?? 'ipvsadm';
  }

  /** One command line; `stop` is set where ipvsadm exit()s (ending a -R run). */
  line(argv: readonly string[], readingStdin: boolean): Step {
    const parsed = parseArgs(argv, { prog: this.prog, names: this.env.names ?? builtinNames, readingStdin });
    if (!parsed.ok) {
      this.stderr += `${parsed.message}\n`;
      return { stop: parsed.stopsRestore, exitCode: parsed.exitCode };
    }
    const command = parsed.command;
    switch (command.kind) {
      case 'help':
        this.stdout += usageText(this.prog);
        return { stop: true, exitCode: 0 };
      case 'version':
        this.stdout += VERSION_LINE;
        return { stop: true, exitCode: 0 };
      case 'list': {
        const data = (this.env.listing ?? ((s: UvsadmState) => listingDataOf(s.table, { daemons: s.daemons })))(this.state);
        const listed = formatListing(command, data, this.env.names ?? builtinNames);
        if (!listed.ok) {
          this.stderr += `${listed.message}\n`;
          return { stop: true, exitCode: listed.exitCode };
        }
        this.stdout += listed.text;
        return { stop: false, exitCode: 0 };
      }
      case 'save':
        this.stdout += formatSave(this.state.table, command.numeric, this.env.names ?? builtinNames);
        return { stop: false, exitCode: 0 };
      case 'restore':
        return this.restore(this.env.stdin ?? '');
      case 'start-daemon':
      case 'stop-daemon': {
        const r = applyDaemonCommand(this.state.daemons, command);
        return r.ok ? this.took(command, { ...this.state, daemons: r.daemons }) : this.kernelError(r.message);
      }
      default: {
        const r = applyCommand(this.state.table, command);
        return r.ok ? this.took(command, { ...this.state, table: r.table }) : this.kernelError(r.message);
      }
    }
  }

  private took(command: Command, state: UvsadmState): Step {
    this.state = state;
    this.applied.push(command);
    return { stop: false, exitCode: 0 };
  }

  private kernelError(message: string): Step {
    this.stderr += `${message}\n`;
    return { stop: false, exitCode: 255 };
  }

  private restore(text: string): Step {
    let exitCode = 0;
    for (const l of splitRestoreLines(text)) {
      const step = this.line(l.argv, true);
      if (step.stop) return step;
      exitCode = step.exitCode;
    }
    return { stop: false, exitCode };
  }
}

/** Run one uvsadm command line (argv without the program name) against a state. */
export function runUvsadm(state: UvsadmState, argv: readonly string[], env: RunEnvironment = {}): RunOutcome {
  const run = new Run(state, env);
  const step = run.line(argv, false);
  return { state: run.state, stdout: run.stdout, stderr: run.stderr, exitCode: step.exitCode, applied: run.applied };
}
