/** A same-site path to return to after signing in; "/" for anything else. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//")) return "/";
  // Backslashes and control characters (a tab after the slash) can turn a
  // path into another origin in some URL parsers.
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return "/";
  return next;
}
