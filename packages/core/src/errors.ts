/**
 * Typed errors shared by every package. `code` is stable and machine-readable, so CLIs can map
 * failures to exit codes and tests can assert on the kind of failure rather than on wording.
 */
export class DistError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input that is not valid, canonical bencode, or exceeds the decoder's limits. */
export class BencodeError extends DistError {
  constructor(message: string) {
    super('EBENCODE', message);
  }
}

/** A .torrent that decodes but is not a torrent we can use safely. */
export class MetainfoError extends DistError {
  constructor(message: string) {
    super('EMETAINFO', message);
  }
}

/** The file changed (size, mtime or content length) while it was being read for hashing. */
export class FileChangedError extends DistError {
  readonly path: string;

  constructor(path: string, detail: string) {
    super('EFILECHANGED', `${path} changed while it was being hashed (${detail})`);
    this.path = path;
  }
}

/** The tracker answered with a bencoded `failure reason`. */
export class TrackerFailureError extends DistError {
  readonly reason: string;

  constructor(reason: string) {
    super('ETRACKERFAILURE', `tracker refused the request: ${reason}`);
    this.reason = reason;
  }
}

/** The tracker could not be reached, timed out, or answered with something unusable. */
export class TrackerUnreachableError extends DistError {
  constructor(url: string, detail: string, options?: { cause?: unknown }) {
    super('ETRACKERUNREACHABLE', `tracker ${url} is unreachable: ${detail}`, options);
  }
}

/** The tracker does not know the requested name or root (HTTP 404). */
export class NotFoundError extends DistError {
  readonly what: string;

  constructor(what: string, detail?: string) {
    super('ENOTFOUND', detail ? `${what}: ${detail}` : `${what} is not published on the tracker`);
    this.what = what;
  }
}
