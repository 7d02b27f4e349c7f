// The option scanner ipvsadm gets from popt, re-implemented with the behaviour that shows
// in ipvsadm's output: short options bundle (-Lnc) and take their value from the rest of
// the word (-t1.2.3.4:80, -t=1.2.3.4:80) or the next word (even one starting with '-');
// long options take --opt=value or --opt value and ignore "=value" when they take none;
// an optional value (-p) is taken from the next word only if it does not start with '-';
// non-options and everything after "--" are collected as leftover arguments; "!#:+" in a
// value is replaced by the next leftover-looking word, which is then skipped (popt's
// expandNextArg). Errors: "unknown option" and "missing argument", reported with the argv
// word being read (poptBadOption). Reference: ipvsadm.md 1; popt 1.19 poptGetNextOpt.

export interface PoptOption {
  long?: string;
  short?: string;
  takes: 'none' | 'value' | 'optional-value';
  id: string;
}

export type PoptEvent =
  | { type: 'option'; option: PoptOption; value: string | null; words: string }
  | { type: 'end' }
  | { type: 'error'; error: 'unknown option' | 'missing argument'; badOption: string };

export class PoptScanner {
  private readonly argv: readonly string[];
  private next = 1;
  /** Unread characters of a bundle of short options (may be '' after "-n=": then an error). */
  private pendingShort: string | null = null;
  private restLeftover = false;
  private readonly skipped = new Set<number>();
  private readonly byLong = new Map<string, PoptOption>();
  private readonly byShort = new Map<string, PoptOption>();
  readonly leftovers: string[] = [];

  /** argv[0] is the program name, as in C. */
  constructor(argv: readonly string[], options: readonly PoptOption[]) {
    this.argv = argv;
    for (const o of options) {
      if (o.long !== undefined) this.byLong.set(o.long, o);
      if (o.short !== undefined) this.byShort.set(o.short, o);
    }
  }

  /** The argv word last read: what popt's error messages and ipvsadm's "invalid option" name. */
  badOption(): string {
    return this.argv[this.next - 1] ?? '';
  }

  nextOption(): PoptEvent {
    for (;;) {
      if (this.pendingShort === null && this.next >= this.argv.length) return { type: 'end' };
      // The word this option comes from (a bundle's word was read already).
      const firstWord = this.pendingShort === null ? this.next : this.next - 1;
      let option: PoptOption | undefined;
      let longValue: string | null = null;
      if (this.pendingShort === null) {
        if (this.skipped.has(this.next)) {
          this.next++;
          continue;
        }
        const word = this.argv[this.next++]!;
        if (this.restLeftover || word[0] !== '-' || word === '-') {
          this.leftovers.push(word);
          continue;
        }
        if (word === '--') {
          this.restLeftover = true;
          continue;
        }
        if (word[1] === '-') {
          const body = word.slice(2);
          const eq = body.indexOf('=');
          option = this.byLong.get(eq < 0 ? body : body.slice(0, eq));
          if (eq >= 0) longValue = body.slice(eq + 1);
          if (!option) return this.error('unknown option');
        } else this.pendingShort = word.slice(1);
      }
      if (!option) {
        const chars = this.pendingShort!;
        this.pendingShort = null;
        option = chars === '' ? undefined : this.byShort.get(chars[0]!);
        if (!option) return this.error('unknown option');
        const rest = chars.slice(1);
        if (rest !== '') this.pendingShort = rest[0] === '=' ? rest.slice(1) : rest;
      }
      let value: string | null = null;
      if (option.takes !== 'none') {
        if (longValue !== null) value = this.expand(longValue);
        else if (this.pendingShort !== null) {
          value = this.expand(this.pendingShort);
          this.pendingShort = null;
        } else if (this.next >= this.argv.length) {
          if (option.takes === 'value') return this.error('missing argument');
        } else if (!(option.takes === 'optional-value' && this.argv[this.next]![0] === '-')) {
          value = this.expand(this.argv[this.next++]!);
        }
      }
      return { type: 'option', option, value, words: this.argv.slice(firstWord, this.next).join(' ') };
    }
  }

  private error(error: 'unknown option' | 'missing argument'): PoptEvent {
    return { type: 'error', error, badOption: this.badOption() };
  }

  /** popt's expandNextArg: "!#:+" stands for the next word not starting with '-', which is consumed. */
  private expand(value: string): string {
    if (!value.includes('!#:+')) return value;
    let substitute: string | null = null;
    let out = '';
    for (let i = 0; i < value.length; i++) {
      if (value[i] === '!' && value.startsWith('#:+', i + 1)) {
        substitute ??= this.takeNextPlainWord();
        if (substitute !== null) {
          out += substitute;
          i += 3;
          continue;
        }
      }
      out += value[i];
    }
    return out;
  }

  private takeNextPlainWord(): string | null {
    for (let i = this.next; i < this.argv.length; i++) {
      if (this.skipped.has(i) || this.argv[i]![0] === '-') continue;
      this.skipped.add(i);
      return this.argv[i]!;
    }
    return null;
  }
}
