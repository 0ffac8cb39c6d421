import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks an `Authorization: Bearer TOKEN` header in constant time. Both sides are hashed first
 * so the comparison takes the same time whatever the lengths (timingSafeEqual needs equal sizes).
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const sent = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '';
  const a = createHash('sha256').update(sent).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && sent.length > 0;
}
