declare module 'bittorrent-protocol' {
  import type { Duplex } from 'node:stream';
  export interface WireRequest {
    piece: number;
    offset: number;
    length: number;
    callback: (err: Error | null, block?: Uint8Array) => void;
  }
  export interface BitFieldLike {
    get(index: number): boolean;
    set(index: number, value?: boolean): void;
    buffer: Uint8Array;
  }
  export interface ExtensionInstance {
    name: string;
    onHandshake?(infoHash: string, peerId: string, extensions: Record<string, boolean>): void;
    onExtendedHandshake?(handshake: Record<string, unknown>): void;
    onMessage?(buf: Uint8Array): void;
  }
  export type ExtensionConstructor = (new (wire: Wire) => ExtensionInstance) & {
    prototype: { name: string };
  };
  // runtime base class is streamx Duplex; node:stream Duplex is close enough for pipe/on/destroy typing
  export default class Wire extends Duplex {
    constructor(
      type?: '' | 'webrtc' | 'tcpIncoming' | 'tcpOutgoing' | 'utp' | 'webSeed',
      peEnabled?: 0 | 1,
    );
    static nativeRC4: boolean;
    peerId: string | null;
    peerIdBuffer: Uint8Array | null;
    type: string;
    amChoking: boolean;
    amInterested: boolean;
    peerChoking: boolean;
    peerInterested: boolean;
    peerPieces: BitFieldLike;
    extensions: Record<string, boolean>;
    peerExtensions: Record<string, boolean>;
    requests: WireRequest[];
    peerRequests: WireRequest[];
    extendedMapping: Record<number, string>;
    peerExtendedMapping: Record<string, number>;
    extendedHandshake: Record<string, unknown>;
    peerExtendedHandshake: Record<string, unknown>;
    hasFast: boolean;
    allowedFastSet: number[];
    peerAllowedFastSet: number[];
    uploaded: number;
    downloaded: number;
    uploadSpeed: (delta?: number) => number;
    downloadSpeed: (delta?: number) => number;
    setKeepAlive(enable: boolean): void;
    setTimeout(ms: number, unref?: boolean): this;
    use(ext: ExtensionConstructor): void;
    handshake(
      infoHash: string | Uint8Array,
      peerId: string | Uint8Array,
      extensions?: Record<string, boolean>,
    ): void;
    choke(): void;
    unchoke(): void;
    interested(): void;
    uninterested(): void;
    have(index: number): void;
    bitfield(bitfield: Uint8Array | { buffer: Uint8Array }): void;
    request(
      index: number,
      offset: number,
      length: number,
      cb?: (err: Error | null, block: Uint8Array) => void,
    ): void;
    piece(index: number, offset: number, block: Uint8Array): void;
    cancel(index: number, offset: number, length: number): void;
    port(port: number): void;
    suggest(index: number): void;
    haveAll(): void;
    haveNone(): void;
    reject(index: number, offset: number, length: number): void;
    allowedFast(index: number): void;
    extended(ext: number | string, obj: Uint8Array | Record<string, unknown>): void;
    on(
      event: 'handshake',
      listener: (infoHash: string, peerId: string, extensions: Record<string, boolean>) => void,
    ): this;
    on(
      event: 'request',
      listener: (
        index: number,
        offset: number,
        length: number,
        respond: (err: Error | null, block?: Uint8Array) => void,
      ) => void,
    ): this;
    on(event: 'piece', listener: (index: number, offset: number, block: Uint8Array) => void): this;
    on(
      event: 'cancel' | 'reject',
      listener: (index: number, offset: number, length: number) => void,
    ): this;
    on(
      event: 'have' | 'suggest' | 'allowed-fast' | 'upload' | 'download' | 'port',
      listener: (n: number) => void,
    ): this;
    on(event: 'bitfield', listener: (bitfield: BitFieldLike) => void): this;
    on(
      event: 'extended',
      listener: (ext: string, payload: Uint8Array | Record<string, unknown>) => void,
    ): this;
    on(
      event:
        | 'choke'
        | 'unchoke'
        | 'interested'
        | 'uninterested'
        | 'keep-alive'
        | 'timeout'
        | 'have-all'
        | 'have-none'
        | 'close'
        | 'finish'
        | 'end',
      listener: () => void,
    ): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'unknownmessage', listener: (buf: Uint8Array) => void): this;
    on(event: string | symbol, listener: (...args: any[]) => void): this;
  }
}
