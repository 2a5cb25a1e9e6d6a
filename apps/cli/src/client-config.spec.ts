import { describe, expect, it } from 'vitest';
import { clientConfig } from './client-config';
import { configFilePath } from './config-file';

describe('clientConfig', () => {
  const stored = { url: 'http://mpi.example:3000', token: 'mpk_stored' };

  it('takes --token, then MPIAAS_TOKEN, then the key stored by mpiaas login', () => {
    expect(clientConfig({ token: 'mpk_flag' }, { MPIAAS_TOKEN: 'mpk_env' }, stored)).toEqual({ url: stored.url, token: 'mpk_flag' });
    expect(clientConfig({}, { MPIAAS_TOKEN: 'mpk_env' }, stored)).toEqual({ url: stored.url, token: 'mpk_env' });
    expect(clientConfig({}, {}, stored)).toEqual(stored);
    expect(clientConfig({ url: 'http://mpi.example:3000/' }, {}, stored).token).toBe('mpk_stored');
  });

  it('never sends the stored key to another server than the one it was stored for', () => {
    expect(clientConfig({ url: 'http://elsewhere:3000' }, {}, stored)).toEqual({ url: 'http://elsewhere:3000' });
    expect(clientConfig({}, { MPIAAS_URL: 'http://elsewhere:3000' }, stored)).toEqual({ url: 'http://elsewhere:3000' });
  });

  it('finds the file under XDG_CONFIG_HOME, else ~/.config', () => {
    expect(configFilePath({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/u' })).toBe('/x/cfg/mpiaas/config.json');
    expect(configFilePath({ HOME: '/home/u' })).toBe('/home/u/.config/mpiaas/config.json');
    expect(configFilePath({ XDG_CONFIG_HOME: 'relative', HOME: '/home/u' })).toBe('/home/u/.config/mpiaas/config.json');
  });
});
