/** Entry point: `npm run gateway -- [--flags]` serves; `npm run gateway -- <admin command>` administers. */
import { ConfigError, loadConfig, parseArgs, usage } from './config';
import { ADMIN_COMMANDS, runAdmin } from './admin';
import { startGateway } from './server';
import { guardProcess } from './crash-guard';

/** Ends the process on an error nothing handled, with its stack. */
function die(e: unknown): never {
  process.stderr.write(`kontor-gateway: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}

async function main(argv: string[]): Promise<void> {
  // everything the gateway and its admin commands create (database, -wal, -shm, org key,
  // port file) is readable by its owner only, whatever umask the service manager passed on
  process.umask(0o077);
  if (argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) return void process.stdout.write(usage() + '\n');
  if (argv[0] !== undefined && ADMIN_COMMANDS.has(argv[0])) return runAdmin(argv);
  const { opts, positionals } = parseArgs(argv);
  if (positionals.length) throw new ConfigError(`unexpected argument ${positionals[0]}`);
  const gw = await startGateway(loadConfig(opts));
  guardProcess(process, gw.gw.log, die);
  const stop = () => void gw.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`kontor-gateway: ${e.message}\n`);
    process.exit(2);
  }
  die(e);
});
