/** Typed command-line options on top of util.parseArgs (strict: unknown options are errors). */
import { parseArgs } from 'node:util';

/** Thrown for bad command lines; the CLI prints it with usage help and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** One option of a command. */
export interface OptionSpec {
  type: 'string' | 'boolean' | 'integer' | 'number';
  /** Help text. */
  description: string;
  short?: string;
  default?: string | number | boolean;
  /** Smallest accepted value for numbers. */
  min?: number;
  /** Accepted values for strings. */
  choices?: readonly string[];
}

/** A subcommand: its name, positional arguments and options. */
export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional arguments; one may be `variadic` (it takes every argument the others leave). */
  positionals: { name: string; description: string; optional?: boolean; variadic?: boolean }[];
  options: Record<string, OptionSpec>;
}

/** Parsed values by option name (numbers already converted and checked). */
export type ParsedOptions = Record<string, string | number | boolean | undefined>;

/** Parses argv for a command, converting and validating every option; `given` names the options on the command line. */
export function parseCommand(spec: CommandSpec, argv: string[]): { positionals: string[]; options: ParsedOptions; given: Set<string> } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = { type: option.type === 'boolean' ? 'boolean' : 'string', ...(option.short ? { short: option.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joinNegativeNumbers(spec, argv), options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${message} (kestrel ${spec.name})`);
  }
  const values: ParsedOptions = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const raw = parsed.values[name] as string | boolean | undefined;
    if (raw === undefined) { values[name] = option.default; continue; }
    if (option.type === 'integer' || option.type === 'number') {
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value) || (option.type === 'integer' && !Number.isInteger(value))) {
        throw new UsageError(`option --${name} must be ${option.type === 'integer' ? 'an integer' : 'a number'}, got '${String(raw)}'`);
      }
      if (option.min !== undefined && value < option.min) throw new UsageError(`option --${name} must be >= ${option.min}, got ${value}`);
      values[name] = value;
    } else if (option.type === 'string' && option.choices && !option.choices.includes(String(raw))) {
      throw new UsageError(`option --${name} must be one of ${option.choices.join(', ')}; got '${String(raw)}'`);
    } else {
      values[name] = raw;
    }
  }
  values.help = parsed.values.help as boolean | undefined;
  const required = spec.positionals.filter((p) => !p.optional).length;
  if (!values.help && parsed.positionals.length < required) {
    throw new UsageError(`kestrel ${spec.name} needs ${spec.positionals.map((p) => `<${p.name}>`).join(' ')}`);
  }
  if (parsed.positionals.length > spec.positionals.length && !spec.positionals.some((p) => p.variadic)) {
    throw new UsageError(`unexpected argument '${parsed.positionals[spec.positionals.length]}' (kestrel ${spec.name})`);
  }
  const given = new Set(Object.keys(spec.options).filter((name) => parsed.values[name] !== undefined));
  return { positionals: parsed.positionals, options: values, given };
}

/**
 * `--epochs -1` as `--epochs=-1`, so a negative number reaches the range check instead of parseArgs's
 * "ambiguous argument" message.
 */
function joinNegativeNumbers(spec: CommandSpec, argv: string[]): string[] {
  const numeric = new Set<string>();
  for (const [name, option] of Object.entries(spec.options)) {
    if (option.type !== 'integer' && option.type !== 'number') continue;
    numeric.add(`--${name}`);
    if (option.short) numeric.add(`-${option.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (numeric.has(argv[i]) && /^-(\d|\.\d|Infinity)/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** Help text of a command. */
export function commandHelp(spec: CommandSpec): string {
  const usage = `usage: kestrel ${spec.name} ${spec.positionals.map((p) => (p.optional ? `[${p.name}]` : `<${p.name}>`) + (p.variadic ? '...' : '')).join(' ')} [options]`;
  const positionals = spec.positionals.map((p) => `  ${p.name.padEnd(24)} ${p.description}`);
  const options = Object.entries(spec.options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'boolean' ? '' : ` ${o.type === 'string' ? (o.choices ? o.choices.join('|') : 'VALUE') : 'N'}`}`;
    return `  ${flag.padEnd(24)} ${o.description}${o.default !== undefined ? ` (default ${String(o.default)})` : ''}`;
  });
  return [usage, '', spec.summary, '', ...positionals, '', 'options:', ...options, `  ${'--help'.padEnd(24)} show this help`].join('\n');
}
