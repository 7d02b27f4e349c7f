// `ipvsadm -R` input: lines split on spaces, tabs and carriage returns into argv (any word
// "ipvsadm" dropped, so lines may start with it; no comments: '#' is an ordinary word),
// blank lines skipped, each line then parsed as a command line with -R refused. One quirk
// of ipvsadm's reader is kept: a last line without a newline that ends in two or more
// blanks is lost. Reference: ipvsadm.md 8.3; ipvsadm 1.31 config_stream_read, restore_table.

import { parseArgs, type ParseOptions } from './args.js';
import type { ParseResult } from './types.js';

export interface RestoreLine {
  /** 1-based line number in the input. */
  line: number;
  /** The words of the line, without the program name. */
  argv: string[];
}

const BLANKS = /[ \t\r]+/;

export function splitRestoreLines(text: string): RestoreLine[] {
  const lines = text.split('\n');
  const out: RestoreLine[] = [];
  lines.forEach((raw, k) => {
    const unterminated = k === lines.length - 1;
    if (unterminated && /\S[ \t\r]{2,}$/.test(raw)) return;
    const argv = raw.split(BLANKS).filter((w) => w !== '' && w !== 'ipvsadm');
    if (argv.length > 0) out.push({ line: k + 1, argv });
  });
  return out;
}

/** Every line of -R input parsed (the caller runs them in order and stops where ipvsadm would). */
export function parseRestore(text: string, options: Omit<ParseOptions, 'readingStdin'> = {}): (RestoreLine & { result: ParseResult })[] {
  return splitRestoreLines(text).map((l) => ({ ...l, result: parseArgs(l.argv, { ...options, readingStdin: true }) }));
}
