// Types for netns.js, so that TypeScript tests (the interop matrix) can use it too.
export interface NetHost {
  name: string;
  ns: string;
  address: string;
}
export interface Network {
  bridgeNs: string;
  rateMbit: number | undefined;
  hosts: NetHost[];
  exec(host: NetHost, cmd: string, args?: string[]): [string, string[]];
  txBytes(host: NetHost): number;
  rxBytes(host: NetHost): number;
  destroy(): void;
}
export function haveNetAdmin(): boolean;
export function netnsUsable(): boolean;
export function cleanupStale(prefix: string): number;
export function hostAddress(index: number): string;
export function createNetwork(options: {
  prefix: string;
  names: string[];
  rateMbit?: number;
}): Network;
