/** Entry point: validate the environment, build the app, listen. Bad config → one line, exit 1. */
import 'reflect-metadata';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app-config';
import { loadKekRing } from './keys/kek-ring';

/** Pending connections the kernel queues for accept(). */
const LISTEN_BACKLOG = 4096;

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // Refuse a missing or malformed KEK configuration before touching the database (the
  // embedded database's development KEK is generated later, by the key custody module).
  if (config.brokerKeks || config.brokerKekFile || config.databaseUrl) loadKekRing(config);
  const { app, logger } = await createApp(config);
  // A fleet rebooting at once opens its connections together: past the accept queue (node's
  // default 511) the kernel drops SYNs and each client waits 1 s, 3 s, 7 s… to retransmit, an
  // admitted boot's next request included. The kernel caps this at net.core.somaxconn.
  await app.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG });
  logger.info(
    { port: config.port, host: config.host, tls: Boolean(config.tls), database: config.databaseUrl ? 'postgresql' : `pglite:${config.dataDir}` },
    'bootkey listening',
  );
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`bootkey: ${error.message}\n`);
  } else {
    process.stderr.write(`bootkey: failed to start: ${(error as Error)?.message ?? String(error)}\n`);
  }
  process.exit(1);
});
