/**
 * Telling which rank was lost: every rank bumps a heartbeat counter in the rendezvous store from a native thread,
 * so when a collective fails (gloo reports "connection closed by peer", not which rank), the survivors compare the
 * counters over a few intervals and name the ranks whose counter stopped.
 */
import { dist } from './native.js';
import type { Store } from './store.js';

/** How often each rank's heartbeat thread bumps its counter. */
export const HEARTBEAT_INTERVAL_MS = 1000;

/** Thrown when a collective fails because a rank of the group is gone; `lostRanks` names them. */
export class RankLostError extends Error {
  override name = 'RankLostError';
  /** `rank` is this process's rank; `lostRanks` those found gone (empty when the store itself is gone). */
  constructor(readonly rank: number, readonly lostRanks: number[], message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Who hosts the rendezvous store, for the message when it disappears. */
export type StoreHost = 'rank 0' | 'the launcher' | 'another process';

/** What a diagnosis found. */
export interface Diagnosis {
  /** Ranks whose heartbeat stopped. */
  lost: number[];
  /** Messages ranks published before failing (reportFailure), by rank. */
  reported: Map<number, string>;
  /** Whether the store could not be reached at all. */
  storeLost: boolean;
}

// NOTE: gloo, c10d and the TCPStore word their failures in many ways; all of them mention one of these.
const COMMUNICATION_FAILURE = /gloo|ProcessGroup|NCCL|TCPStore|Connection (closed|reset|refused)|Broken pipe|[Tt]imed? ?out|Socket|peer|recv|send/;

/** Whether an error looks like a failed collective or store operation (worth asking which rank is gone). */
export function isCommunicationFailure(error: unknown): boolean {
  return COMMUNICATION_FAILURE.test(error instanceof Error ? error.message : String(error));
}

/** One rank's heartbeat and the view of everyone's. */
export class Heartbeat {
  private id: number | null = null;

  /** Heartbeats of `worldSize` ranks under `store` (keys `kestrel/heartbeat/<rank>`, failures `kestrel/failed/<rank>`). */
  constructor(private readonly store: Store, readonly rank: number, readonly worldSize: number, readonly intervalMs = HEARTBEAT_INTERVAL_MS) {}

  /** Starts this rank's heartbeat thread (it keeps beating while the main thread is busy or blocked). */
  start(): void {
    if (this.id !== null) return;
    this.id = dist().startHeartbeat(this.store.host, this.store.port, this.store.rawKey(`kestrel/heartbeat/${this.rank}`), this.intervalMs);
  }

  /** Stops the thread. */
  stop(): void {
    if (this.id === null) return;
    dist().stopHeartbeat(this.id);
    this.id = null;
  }

  /** Publishes why this rank is failing, so the others can say it. */
  report(message: string): void {
    try {
      this.store.set(`kestrel/failed/${this.rank}`, message.slice(0, 2000));
    } catch {
      // NOTE: best effort: the store may be what failed.
    }
  }

  /** Reads every counter twice, three intervals apart; ranks whose counter did not move are lost. */
  async diagnose(): Promise<Diagnosis> {
    const ranks = Array.from({ length: this.worldSize }, (_, r) => r);
    const read = () => ranks.map((r) => this.store.add(`kestrel/heartbeat/${r}`, 0));
    try {
      const before = read();
      await new Promise((resolve) => setTimeout(resolve, 3 * this.intervalMs));
      const after = read();
      const lost = ranks.filter((r) => r !== this.rank && after[r] === before[r]);
      const reported = new Map<number, string>();
      for (const r of ranks) {
        if (r !== this.rank && this.store.check([`kestrel/failed/${r}`])) reported.set(r, this.store.get(`kestrel/failed/${r}`));
      }
      return { lost, reported, storeLost: false };
    } catch {
      return { lost: [], reported: new Map(), storeLost: true };
    }
  }
}

/**
 * The error to show for `error`, a failure of `during` on `rank`: a RankLostError naming the lost ranks (or the lost
 * store and who hosted it), or the original error when every rank is alive and it was not a communication failure.
 */
export function explainDiagnosis(error: Error, diagnosis: Diagnosis, context: { rank: number; worldSize: number; during: string; storeAddress: string; storeHost: StoreHost; timeoutMs: number }): Error {
  const { rank, worldSize, during } = context;
  const cause = error.message.split('\n')[0];
  if (diagnosis.storeLost) {
    const who = context.storeHost === 'another process' ? 'the process hosting it' : context.storeHost;
    return new RankLostError(rank, context.storeHost === 'rank 0' ? [0] : [], `rank ${rank}: lost ${context.storeHost === 'rank 0' ? 'rank 0' : who} during ${during}: the rendezvous store at ${context.storeAddress} is unreachable; stopping (${cause})`, { cause: error });
  }
  if (diagnosis.lost.length > 0) {
    const names = diagnosis.lost.map((r) => {
      const said = diagnosis.reported.get(r);
      return said ? `rank ${r} (it failed: ${said.split('\n')[0]})` : `rank ${r}`;
    });
    const how = diagnosis.lost.every((r) => diagnosis.reported.has(r)) ? '' : ' (its heartbeat stopped: the process died or its machine is unreachable)';
    return new RankLostError(rank, diagnosis.lost, `rank ${rank}: lost ${names.join(', ')} of ${worldSize} during ${during}${how}; stopping (${cause})`, { cause: error });
  }
  if (diagnosis.reported.size > 0) {
    const [r, said] = [...diagnosis.reported][0];
    return new RankLostError(rank, [r], `rank ${rank}: rank ${r} failed during ${during} (${said.split('\n')[0]}); stopping (${cause})`, { cause: error });
  }
  if (/[Tt]imed? ?out/.test(error.message)) {
    return new Error(`rank ${rank}: ${during} timed out after ${Math.round(context.timeoutMs / 1000)} s while every rank's heartbeat is alive: some rank is stuck or called a different collective (${cause})`, { cause: error });
  }
  return error;
}
