/**
 * A peer's place in the datacenter, `zone/rack` (e.g. `eu-1a/r12`). Both parts are short
 * names so that they can travel in an announce URL and in a Redis value unescaped.
 */

const PART = /^[A-Za-z0-9._-]{1,64}$/;

/** Why `text` is not a `zone/rack` location, or undefined when it is one. */
export function locationProblem(text: string): string | undefined {
  const parts = text.split('/');
  if (parts.length !== 2 || !PART.test(parts[0]!) || !PART.test(parts[1]!)) {
    return `must be ZONE/RACK, each 1-64 characters of A-Z a-z 0-9 . _ -, got ${JSON.stringify(text.slice(0, 80))}`;
  }
  return undefined;
}

/** The zone part of a valid location ('' for an unknown location). */
export function zoneOf(location: string): string {
  const slash = location.indexOf('/');
  return slash < 0 ? '' : location.slice(0, slash);
}
