/** `kestrel dashboard RUNS_DIR`: finished (and running) runs side by side in the browser, curves overlaid. */
import { DEFAULT_DASHBOARD_PORT, runsServer } from '../dashboard/index.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';

/** The command's options. */
export const dashboardSpec: CommandSpec = {
  name: 'dashboard',
  summary: 'compare runs in the browser: a table and their curves overlaid (every RUN/metrics.json under a folder)',
  positionals: [{ name: 'runs', description: "folder of run directories (e.g. 'runs')", optional: true }],
  options: {
    port: { type: 'integer', description: 'port (0: any free port)', default: DEFAULT_DASHBOARD_PORT, min: 0 },
    host: { type: 'string', description: 'address to bind (default 127.0.0.1: this machine only)' },
  },
};

/** Serves until interrupted; resolves to the exit code. */
export async function runDashboard(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(dashboardSpec, argv);
  if (options.help) { console.log(commandHelp(dashboardSpec)); return 0; }
  const server = runsServer(positionals[0] ?? 'runs', { port: options.port as number, host: options.host as string | undefined });
  const url = await server.start();
  console.log(`kestrel: runs of ${positionals[0] ?? 'runs'} at ${url} (Ctrl-C to quit)`);
  // NOTE: the server is unref'ed (it never keeps training alive); here it is the whole job, so wait for Ctrl-C.
  await new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const quit = () => { clearInterval(keepAlive); resolve(); };
    process.once('SIGINT', quit);
    process.once('SIGTERM', quit);
  });
  await server.close();
  return 0;
}
