import { Inject, Injectable } from '@nestjs/common';
import {
  Validate,
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { API_CONFIG, type ApiConfig } from '../../config/api-config';

type ConfiguredMax = 'maxNp' | 'maxTimeoutSeconds';

/**
 * An upper bound that comes from the config, not the code. class-validator takes this
 * instance from Nest (resolveConstraintsFromNest in createApp), which is how it gets the config.
 */
@ValidatorConstraint({ name: 'configuredMax' })
@Injectable()
export class ConfiguredMaxConstraint implements ValidatorConstraintInterface {
  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  validate(value: unknown, args: ValidationArguments): boolean {
    // Non-numbers are IsInt's to report.
    return typeof value !== 'number' || value <= this.max(args);
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must not be greater than ${this.max(args)}`;
  }

  private max(args: ValidationArguments): number {
    return this.config[args.constraints[0] as ConfiguredMax];
  }
}

export const MaxFromConfig = (key: ConfiguredMax): PropertyDecorator => Validate(ConfiguredMaxConstraint, [key]);
