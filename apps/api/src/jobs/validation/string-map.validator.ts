import { registerDecorator } from 'class-validator';
import { ENV_NAME_PATTERN, isReservedEnvName, JOB_LIMITS, LABEL_KEY_PATTERN, MPI4PY_RELEASE_ENV, mpi4pyReleaseProblem } from '@mpiaas/contracts';
import { stringMapProblem, type StringMapRules } from './string-map';

function IsStringMap(name: string, rules: StringMapRules): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => stringMapProblem(value, rules) === undefined,
        defaultMessage: (args) => `${args?.property} ${stringMapProblem(args?.value, rules)}`,
      },
    });
}

const ENV_RULES: StringMapRules = {
  maxEntries: JOB_LIMITS.maxEnvVars,
  maxValueBytes: JOB_LIMITS.maxEnvValueBytes,
  keyProblem: (key) => {
    if (!ENV_NAME_PATTERN.test(key)) return `name ${JSON.stringify(key)} must match ${ENV_NAME_PATTERN.source}`;
    if (isReservedEnvName(key)) return `name ${JSON.stringify(key)} is reserved by the runtime`;
    return undefined;
  },
  valueProblem: (key, value) => (key === MPI4PY_RELEASE_ENV ? mpi4pyReleaseProblem(value) : undefined),
};

const LABEL_RULES: StringMapRules = {
  maxEntries: JOB_LIMITS.maxLabels,
  maxValueBytes: JOB_LIMITS.maxLabelLength,
  keyProblem: (key) => {
    if (key.length > JOB_LIMITS.maxLabelLength) return `key ${JSON.stringify(key)} must be at most ${JOB_LIMITS.maxLabelLength} characters`;
    if (!LABEL_KEY_PATTERN.test(key)) return `key ${JSON.stringify(key)} must match ${LABEL_KEY_PATTERN.source}`;
    return undefined;
  },
};

/** Environment variables for every rank: names as a shell exports them, none the runtime sets. */
export const IsEnvMap = (): PropertyDecorator => IsStringMap('isEnvMap', ENV_RULES);

/** Labels: lower-case keys, short string values. */
export const IsLabelMap = (): PropertyDecorator => IsStringMap('isLabelMap', LABEL_RULES);
