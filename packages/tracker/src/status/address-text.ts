/** `ip:port` or `[ipv6]:port` from a BEP 23 / BEP 7 compact address. */
export function formatCompactAddress(address: Uint8Array): string {
  const view = Buffer.from(address.buffer, address.byteOffset, address.byteLength);
  if (view.length === 6) {
    return `${view[0]}.${view[1]}.${view[2]}.${view[3]}:${view.readUInt16BE(4)}`;
  }
  if (view.length === 18) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(view.readUInt16BE(i).toString(16));
    // Shorten the first run of zero groups (RFC 5952 style, good enough for display).
    const ip = groups
      .join(':')
      .replace(/(^|:)0(:0)+(:|$)/, '::')
      .replace(/:{3,}/, '::');
    return `[${ip}]:${view.readUInt16BE(16)}`;
  }
  return view.toString('hex');
}
