// Command-line options of the `switchguard` commands, parsed with node:util parseArgs (strict: an unknown
// option or a missing value is a usage error). One extension: a `list` option takes every word that follows
// it up to the next option, so `--dfsp a b c` and `--fsp x y` keep their documented form.
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** parseArgs' `options` object (the type @types/node does not export). */
export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** A command line the command cannot use; the command prints its usage and exits 2. */
export class UsageError extends Error {}

type Values<T extends OptionsConfig> = {
  [K in keyof T]?: T[K] extends { multiple: true } ? string[] : T[K] extends { type: 'boolean' } ? boolean : string;
};

export interface Parsed<T extends OptionsConfig> {
  readonly values: Values<T>;
  readonly positionals: string[];
}

/**
 * Parses `args` against `options`. Options named in `lists` must be declared `multiple: true`; the words
 * after each of them (up to the next option) are its values. At most `maxPositionals` other words are allowed.
 */
export function parseCommand<T extends OptionsConfig>(
  args: readonly string[],
  options: T,
  lists: readonly (keyof T & string)[] = [],
  maxPositionals = 0,
): Parsed<T> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true, tokens: true });
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const positionals: string[] = [];
  // List values are rebuilt from the tokens, in command-line order.
  for (const name of lists) if (values[name] !== undefined) values[name] = [];
  let list: string[] | undefined;
  for (const t of parsed.tokens ?? []) {
    if (t.kind === 'option') {
      list = lists.includes(t.name) ? (values[t.name] as string[]) : undefined;
      if (list !== undefined && t.value !== undefined) list.push(t.value);
    } else if (t.kind === 'positional') {
      if (list !== undefined) list.push(t.value);
      else positionals.push(t.value);
    } else list = undefined;
  }
  if (positionals.length > maxPositionals) throw new UsageError(`unexpected argument '${positionals[maxPositionals]}'`);
  return { values: values as Values<T>, positionals };
}
