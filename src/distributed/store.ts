/** The rendezvous key-value store (c10d's TCPStore, and prefixed views of it) that ranks meet through. */
import { dist } from './native.js';

/** Default timeout of stores and process groups: 30 minutes, torch.distributed's default. */
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

/** Options of createTcpStore. */
export interface TcpStoreOptions {
  /** Address of the server (the machine of rank 0, or of the launcher). */
  host: string;
  /** Port of the server; 0 lets a server pick a free one (read it back from `store.port`). */
  port: number;
  /** Run the server in this process (true for one process per job: rank 0, or the launcher). */
  isServer: boolean;
  /**
   * Processes of the job. Clients announce themselves under torch's `init/` counter, which a Python rank 0's server
   * waits for, so set it whenever a client joins a torch.distributed job.
   */
  worldSize?: number;
  /** Milliseconds to wait for a key or a connection (default 30 minutes). */
  timeout?: number;
}

/** A c10d key-value store, or a view of one whose keys get a prefix (torch's PrefixStore joins with '/'). */
export class Store {
  /** Wraps a native store id; use createTcpStore() or withPrefix(). */
  constructor(readonly id: number, readonly host: string, readonly port: number, readonly prefix = '') {}

  /** Adds `amount` to an integer counter (created at 0) and returns its new value; amount 0 reads it. */
  add(key: string, amount = 1): number { return dist().storeAdd(this.id, key, amount); }

  /** Sets a string value. */
  set(key: string, value: string): void { dist().storeSet(this.id, key, value); }

  /** Gets a string value, waiting for the key up to the store's timeout. */
  get(key: string): string { return dist().storeGet(this.id, key); }

  /** Whether every key exists (does not wait). */
  check(keys: string[]): boolean { return dist().storeCheck(this.id, keys); }

  /** A view whose keys are `prefix/key` (torch.distributed.PrefixStore). */
  withPrefix(prefix: string): Store {
    return new Store(dist().prefixStore(this.id, prefix), this.host, this.port, this.prefix ? `${this.prefix}/${prefix}` : prefix);
  }

  /** The key the underlying TCPStore sees for `key` of this view. */
  rawKey(key: string): string { return this.prefix ? `${this.prefix}/${key}` : key; }

  /** Drops this handle (a server stops once every view and group using it is released). */
  close(): void { dist().releaseStore(this.id); }

  /** Where the store listens. */
  toString(): string { return `TCPStore(${this.host}:${this.port}${this.prefix ? `, prefix '${this.prefix}'` : ''})`; }
}

/**
 * Starts (isServer) or connects to a c10d TCPStore. Connecting retries until the server is up or the timeout ends;
 * it runs off the main thread, so the event loop keeps turning meanwhile.
 */
export async function createTcpStore(options: TcpStoreOptions): Promise<Store> {
  const { host, port, isServer } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`distributed: port must be an integer in [0, 65535], got ${String(port)}`);
  if (!isServer && port === 0) throw new Error('distributed: a store client needs the server\'s port (masterPort), got 0');
  const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
  // NOTE: the server does not wait for the others here (its port may still have to reach them); clients announce
  // themselves (waitWorkers) because a torch.distributed rank 0 waits for that count.
  const [id, actualPort] = await dist().createStore(host, port, isServer, options.worldSize ?? -1, timeout, !isServer && options.worldSize !== undefined, true)
    .catch((error: Error) => {
      throw new Error(`distributed: cannot ${isServer ? 'start' : 'reach'} the rendezvous store at ${host}:${port}: ${error.message}`, { cause: error });
    });
  return new Store(id, host, actualPort);
}
