// The command-line options of the benchmarks that run a private stack (bench:tiny, bench:logs):
// --quick, --NAME=VALUE, --profile=DIR (the api and worker run with --cpu-prof, profiles
// written to DIR) and --env=NAME=VALUE … (worker configuration for the run).
import path from 'node:path';

export function stackOptions(argv = process.argv) {
  const option = (name) => argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const profileDir = option('profile');
  return {
    quick: argv.includes('--quick'),
    option,
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [],
    workerEnv: Object.fromEntries(
      argv.filter((arg) => arg.startsWith('--env=')).map((arg) => {
        const [name, ...value] = arg.slice('--env='.length).split('=');
        return [name, value.join('=')];
      }),
    ),
  };
}
