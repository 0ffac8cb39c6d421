import { MemoryStore } from '@distributor/tracker';
import { runStoreContract } from './store-contract.js';

runStoreContract('memory', ({ clock, peerTtlMs }) => new MemoryStore({ clock, peerTtlMs }));
