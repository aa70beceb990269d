/** The `kestrel` command: dispatches subcommands and turns errors into one clear line. */
import { UsageError, commandHelp } from './args.js';
import { type Command, commands } from './commands.js';

const VERSION = '0.1.0';

function overview(): string {
  const rows = Object.values(commands).map((c: Command) => `  ${c.spec.name.padEnd(12)} ${c.spec.summary}`);
  return [`kestrel ${VERSION}: train image classifiers on libtorch from TypeScript`, '', 'usage: kestrel <command> [options]', '', 'commands:', ...rows, '', 'kestrel <command> --help shows its options.'].join('\n');
}

/** Runs the CLI with argv (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`kestrel: error: unknown command '${name}'. Commands: ${Object.keys(commands).join(', ')}.`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    // NOTE: each worker of a data-parallel job (kestrel train --nproc, torchrun) reports for itself; say which one.
    const rank = process.env.WORLD_SIZE && Number(process.env.WORLD_SIZE) > 1 ? process.env.RANK : undefined;
    const raw = error instanceof Error ? error.message : String(error);
    const message = rank === undefined || raw.startsWith(`rank ${rank}:`) ? raw : `rank ${rank}: ${raw}`;
    if (error instanceof UsageError) {
      console.error(`kestrel: error: ${message}${rank === undefined || rank === '0' ? `\n\n${commandHelp(command.spec)}` : ''}`);
      return 2;
    }
    console.error(`kestrel: error: ${message}`);
    if (process.env.KESTREL_DEBUG && error instanceof Error) console.error(error.stack);
    return 1;
  }
}
