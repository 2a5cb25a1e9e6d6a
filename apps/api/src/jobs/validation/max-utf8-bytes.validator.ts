import { registerDecorator, type ValidationOptions } from 'class-validator';

/** A string of at most `max` bytes once UTF-8 encoded (limits are on storage, not characters). */
export function MaxUtf8Bytes(max: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'maxUtf8Bytes',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [max],
      options,
      validator: {
        // Non-strings are IsString's to report.
        validate: (value: unknown) => typeof value !== 'string' || Buffer.byteLength(value, 'utf8') <= max,
        defaultMessage: (args) => `${options?.each ? 'each value in ' : ''}${args?.property} must be at most ${max} bytes of UTF-8`,
      },
    });
}
