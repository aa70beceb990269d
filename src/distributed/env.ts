/** torchrun's environment variables, which `kestrel train --nproc` sets for its workers too. */

/** A worker's place in a job, as launchers describe it. */
export interface DistributedEnv {
  /** $RANK: this process among all. */
  rank: number;
  /** $WORLD_SIZE: processes in the job. */
  worldSize: number;
  /** $LOCAL_RANK: this process among those on its machine (picks its GPU). */
  localRank: number;
  /** $LOCAL_WORLD_SIZE: processes on this machine. */
  localWorldSize: number;
  /** $MASTER_ADDR (default 127.0.0.1). */
  masterAddr: string;
  /** $MASTER_PORT. */
  masterPort: number | undefined;
  /** $TORCHELASTIC_USE_AGENT_STORE=True: the launcher hosts the store and every rank is a client. */
  agentStore: boolean;
  /** $TORCHELASTIC_RESTART_COUNT (store key prefix of the attempt). */
  restartCount: number;
}

function integer(name: string, env: NodeJS.ProcessEnv, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`distributed: $${name} must be an integer >= ${min}, got '${raw}'`);
  return value;
}

/** The job described by the environment, or null when $WORLD_SIZE is not set (a plain, single process). */
export function distributedEnv(env: NodeJS.ProcessEnv = process.env): DistributedEnv | null {
  const worldSize = integer('WORLD_SIZE', env, 1);
  if (worldSize === undefined) return null;
  const rank = integer('RANK', env, 0);
  if (rank === undefined) throw new Error('distributed: $WORLD_SIZE is set but $RANK is not');
  if (rank >= worldSize) throw new Error(`distributed: $RANK ${rank} is out of range for $WORLD_SIZE ${worldSize}`);
  return {
    rank, worldSize,
    localRank: integer('LOCAL_RANK', env, 0) ?? rank,
    localWorldSize: integer('LOCAL_WORLD_SIZE', env, 1) ?? worldSize,
    masterAddr: env.MASTER_ADDR || '127.0.0.1',
    masterPort: integer('MASTER_PORT', env, 0),
    agentStore: env.TORCHELASTIC_USE_AGENT_STORE === 'True',
    restartCount: integer('TORCHELASTIC_RESTART_COUNT', env, 0) ?? 0,
  };
}
