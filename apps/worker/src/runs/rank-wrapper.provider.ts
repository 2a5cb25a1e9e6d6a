import { Logger, type Provider } from '@nestjs/common';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { canIsolateNetwork, rankWrapper } from './rank-sandbox';

export const RANK_WRAPPER = Symbol('RANK_WRAPPER');

/** Decides once, at boot, how ranks are confined; refuses to start if 'none' cannot be had. */
export const rankWrapperProvider: Provider = {
  provide: RANK_WRAPPER,
  inject: [WORKER_CONFIG],
  useFactory: (config: WorkerConfig): string[] => {
    const logger = new Logger('RankSandbox');
    let isolate = false;
    if (config.RANK_NETWORK !== 'host') {
      isolate = canIsolateNetwork();
      if (!isolate && config.RANK_NETWORK === 'none') {
        throw new Error('RANK_NETWORK=none but this kernel does not allow a network namespace (unshare --user --net)');
      }
      if (!isolate) logger.warn('ranks keep network access: this kernel does not allow unshare --user --net');
    }
    logger.log(`ranks: ${isolate ? 'no network' : 'host network'}, limits as=${config.RANK_MEMORY_BYTES} fsize=${config.RANK_FILE_SIZE_BYTES} nofile=${config.RANK_OPEN_FILES}`);
    return rankWrapper(config, isolate);
  },
};
