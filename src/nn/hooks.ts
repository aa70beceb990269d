/** Forward hooks as a scope: modules' forward is wrapped while a function runs, and restored in `finally`. */
import type { Tensor } from '../tensor/index.js';
import type { Module } from './module.js';

/** Sees a module's output (and inputs) after each call; returning a tensor replaces the output. */
export type ForwardHook = (module: Module, output: Tensor, inputs: Tensor[]) => Tensor | void;

type Forward = (...inputs: Tensor[]) => Tensor;

/**
 * Runs `fn` with `hook` called after every forward of each of `modules` (fastai's `Hooks` as a
 * context manager). The original forwards come back when `fn` returns, throws, or its promise settles.
 */
export function withForwardHooks<T>(modules: Iterable<Module>, hook: ForwardHook, fn: () => T): T {
  const patched = new Map<Module, Forward | undefined>();
  const restore = (): void => {
    for (const [module, own] of patched) {
      if (own) (module as unknown as { forward: Forward }).forward = own;
      else delete (module as { forward?: unknown }).forward;
    }
  };
  try {
    for (const module of modules) {
      if (patched.has(module)) continue; // NOTE: a layer used twice is wrapped once, so the hook sees each call once.
      const target = module as unknown as { forward: Forward };
      const original = target.forward;
      // NOTE: remember only a forward that is the module's own field; a prototype method is restored by deleting the patch.
      patched.set(module, Object.hasOwn(module, 'forward') ? original : undefined);
      target.forward = (...inputs: Tensor[]) => {
        const output = original.apply(module, inputs);
        return hook(module, output, inputs) ?? output;
      };
    }
  } catch (error) {
    restore();
    throw error;
  }
  let result: T;
  try {
    result = fn();
  } catch (error) {
    restore();
    throw error;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}

/** Runs `fn` with one hook on one module (see {@link withForwardHooks}). */
export function withForwardHook<T>(module: Module, hook: (output: Tensor, inputs: Tensor[]) => Tensor | void, fn: () => T): T {
  return withForwardHooks([module], (_m, output, inputs) => hook(output, inputs), fn);
}

/** The module called `name` in `model.namedModules()` (the model itself for ''); an unknown name lists the known ones. */
export function findModule(model: Module, name: string): Module {
  const entries = model.namedModules();
  const found = entries.find(([n]) => n === name);
  if (found) return found[1];
  const names = entries.map(([n]) => n).filter((n) => n !== '');
  const shown = names.length > 40 ? `${names.slice(0, 40).join(', ')}, ... (${names.length} in all)` : names.join(', ');
  throw new Error(`no layer named '${name}' in ${model.constructor.name}; layers: ${shown}`);
}
