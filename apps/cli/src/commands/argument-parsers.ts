import { InvalidArgumentError } from 'commander';

/** Parses a whole number within [min, max]; `what` names it in the error. */
export function wholeNumber(what: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`${what} must be a whole number ${range}`);
    }
    return parsed;
  };
}

/** Parses a duration in seconds (> 0, fractions allowed). */
export function positiveSeconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('seconds must be a number > 0');
  return parsed;
}
