// Shared by the formula tests: compile-or-throw, and the one problem a refused formula gets.
import { expect } from 'vitest';
import { compileFormula, FORMULA_PATH } from '../../src/scaling/formula.ts';

/** compileFormula that must succeed. */
export const compile = (formula: string, names: string[]) => {
  const result = compileFormula(formula, names);
  if (!result.ok) throw new Error(`did not compile: ${result.error.map((p) => p.message).join('; ')}`);
  return result.value;
};

/** The one problem a refused formula gets, or undefined when it compiles. */
export const refusal = (formula: string, names: readonly string[]): string | undefined => {
  const result = compileFormula(formula, names);
  if (result.ok) return undefined;
  expect(result.error).toHaveLength(1);
  expect(result.error[0]).toMatchObject({ path: FORMULA_PATH, reason: 'InvalidSpec' });
  return result.error[0]?.message;
};
