/** `kestrel launch`: runs a script of your own as the N workers of a data-parallel job (torchrun for Kestrel programs). */
import { type CommandSpec, UsageError, commandHelp, parseCommand } from './args.js';
import { launcherOptionSpecs, runLauncher } from './distributed.js';

/** The command's options. */
export const launchSpec: CommandSpec = {
  name: 'launch',
  summary: 'run a Node.js script as N data-parallel workers (torchrun\'s environment; the script calls initProcessGroup)',
  positionals: [{ name: 'script', description: 'the program each worker runs, followed by its own arguments' }],
  options: {
    ...launcherOptionSpecs,
    threads: { type: 'integer', description: 'libtorch threads of all workers together (default: all cores)', min: 1 },
  },
};

/** Splits argv into the launcher's part and the script with its arguments (everything from the script on). */
export function splitAtScript(argv: string[]): { own: string[]; script: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([^=]+)(=.*)?$/.exec(argv[i]);
    if (!match) {
      if (argv[i].startsWith('-') && argv[i] !== '-') continue;
      return { own: argv.slice(0, i), script: argv.slice(i) };
    }
    const spec = launchSpec.options[match[1]];
    if (spec && spec.type !== 'boolean' && match[2] === undefined) i++; // NOTE: skip the flag's value
  }
  return { own: argv, script: [] };
}

/** Launches the workers; resolves to the job's exit code. */
export async function runLaunch(argv: string[]): Promise<number> {
  const { own, script } = splitAtScript(argv);
  const { options } = parseCommand(launchSpec, [...own, ...script.slice(0, 1)]);
  if (options.help) { console.log(commandHelp(launchSpec)); return 0; }
  if (script.length === 0) throw new UsageError('kestrel launch needs <script>');
  return runLauncher([...process.execArgv, ...script], options);
}
