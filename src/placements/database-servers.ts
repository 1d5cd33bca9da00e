import { AgateError } from '../errors/index.js';
import { databaseNamePattern } from './placement.js';
import type { Placement } from './placement.js';

/** The variable that names database server `name`'s URL: `AGATE_DATABASE_URL_EU1` for `eu1`. */
export function databaseUrlVariable(name: string): string {
  return `AGATE_DATABASE_URL_${name.toUpperCase()}`;
}

const prefix = 'AGATE_DATABASE_URL_';

/** The trimmed value of `variable`, a postgres:// URL, or `invalid_config` saying what to set. */
function configuredUrl(variable: string, raw: string | undefined): string {
  const value = raw?.trim() ?? '';
  if (value === '') {
    throw new AgateError(
      'invalid_config',
      `${variable} is empty; set it to postgres://user@host:port/database or unset it.`,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AgateError(
      'invalid_config',
      `${variable} is not a URL; set it to postgres://user@host:port/database.`,
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new AgateError(
      'invalid_config',
      `${variable} must be a postgres:// URL, not ${url.protocol}//…; set it to postgres://user@host:port/database.`,
    );
  }
  return value;
}

/**
 * The database servers tenants may be placed on, by name, from `AGATE_DATABASE_URL_<NAME>`
 * variables (credentials stay in configuration, never in a table). A variable whose suffix is not
 * an upper-case name, or whose value is not a postgres:// URL, is an `invalid_config` error: a
 * typo must not leave a tenant without its database.
 */
export function readDatabaseServers(env: NodeJS.ProcessEnv): ReadonlyMap<string, string> {
  const servers = new Map<string, string>();
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(prefix)) continue;
    const suffix = variable.slice(prefix.length);
    const name = suffix.toLowerCase();
    if (suffix !== name.toUpperCase() || !databaseNamePattern.test(name)) {
      throw new AgateError(
        'invalid_config',
        `${variable}: a database server's name is 1 to 40 upper-case letters, digits or _ after ${prefix}, starting with a letter (${prefix}EU1 names database:eu1).`,
      );
    }
    servers.set(name, configuredUrl(variable, raw));
  }
  return servers;
}

const replicaPrefix = 'AGATE_REPLICA_URL';

/**
 * The streaming replicas reads may go to, by placement: `AGATE_REPLICA_URL` for the control
 * plane's database (`shared`), `AGATE_REPLICA_URL_<NAME>` for server `<name>`, which must be
 * configured too. Anything else is `invalid_config`.
 */
export function readReplicaUrls(
  env: NodeJS.ProcessEnv,
  servers: ReadonlyMap<string, string>,
): ReadonlyMap<Placement, string> {
  const replicas = new Map<Placement, string>();
  for (const [variable, raw] of Object.entries(env)) {
    if (variable !== replicaPrefix && !variable.startsWith(`${replicaPrefix}_`)) continue;
    const suffix = variable.slice(replicaPrefix.length + 1);
    const name = suffix.toLowerCase();
    if (variable !== replicaPrefix && !servers.has(name)) {
      throw new AgateError(
        'invalid_config',
        `${variable} names the replica of database server ${name}, which is not configured: set ${databaseUrlVariable(name)} too, or unset ${variable}.`,
      );
    }
    replicas.set(
      variable === replicaPrefix ? 'shared' : `database:${name}`,
      configuredUrl(variable, raw),
    );
  }
  return replicas;
}
