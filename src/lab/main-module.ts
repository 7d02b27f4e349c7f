// Whether a module is the process's entry point (`node dist/.../x.js`), for the lab's and
// the benchmarks' scripts that are both run directly and imported. Compares from `/dist/`
// on, so a path given relative, absolute or through a symlinked checkout all match.
export function isMainModule(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && importMetaUrl.endsWith(entry.replace(/^.*\/dist\//, '/dist/'));
}
