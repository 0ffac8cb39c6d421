/**
 * The head of a plain HTTP/1.x GET, as the raw front reads it. Anything this reader is not sure
 * of (another method, a body, an odd header line, bytes outside visible ASCII in the target) it
 * leaves to node:http, whose parser then answers or rejects it as before.
 */
export interface RequestHead {
  target: string;
  /** The client asked for the connection to stay open after this response. */
  keepAlive: boolean;
  /** HTTP/1.0 keeps a connection open only when told, and must be told back. */
  http10: boolean;
  forwardedFor: string | undefined;
}

// The whole head in one pass: "GET", a target of visible ASCII starting with "/", the version,
// then header lines of an RFC 9110 token, a colon and visible text, spaces or tabs (obs-text
// included, as node allows). A bare CR or LF anywhere fails the match, so node:http and this
// reader can never disagree on where a header ends.
const HEAD =
  /^GET (\/[\x21-\x7e]*) HTTP\/1\.([01])((?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*)*)$/;
// The headers the front acts on; the rest it ignores, as node:http's announce handler did.
const NOTED_HEADER =
  /\r\n(connection|x-forwarded-for|transfer-encoding|content-length|upgrade):([^\r]*)/gi;

/**
 * Reads `head` (the bytes before the blank line, latin1-decoded, without the final CRLFCRLF).
 * Returns null when node:http should take the request instead.
 */
export function parseRequestHead(head: string): RequestHead | null {
  const match = HEAD.exec(head);
  if (!match) return null;
  const http10 = match[2] === '0';
  const headers = match[3]!;
  let keepAlive = !http10;
  let forwardedFor: string | undefined;
  if (headers.length > 0) {
    NOTED_HEADER.lastIndex = 0;
    for (let noted = NOTED_HEADER.exec(headers); noted; noted = NOTED_HEADER.exec(headers)) {
      const name = noted[1]!.toLowerCase();
      const value = noted[2]!;
      if (name === 'connection') {
        const tokens = value.toLowerCase().split(',');
        if (tokens.some((t) => t.trim() === 'close')) keepAlive = false;
        else if (tokens.some((t) => t.trim() === 'keep-alive')) keepAlive = true;
      } else if (name === 'x-forwarded-for') {
        // node:http joins repeated ones; keep that reading by handing such requests over.
        if (forwardedFor !== undefined) return null;
        forwardedFor = value.trim();
      } else {
        // A body (content-length, transfer-encoding) or a protocol switch is node:http's business.
        return null;
      }
    }
  }
  return { target: match[1]!, keepAlive, http10, forwardedFor };
}
