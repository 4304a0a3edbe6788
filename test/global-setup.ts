import pg from 'pg';

/** Says once whether the PostgreSQL half runs; in CI a skipped half is a failure. */
export default async function setup(): Promise<void> {
  if (process.env.ACCTCTL_TEST_PG_URL) {
    // Each test gets its own schema; the trigram extension lives once in public, which
    // every test schema's search_path includes (see test/setup.ts).
    const client = new pg.Client({ connectionString: process.env.ACCTCTL_TEST_PG_URL });
    await client.connect();
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public');
    await client.end();
    process.stderr.write('acctctl tests: running every service test on SQLite and PostgreSQL\n');
    return;
  }
  if (process.env.CI) {
    throw new Error('ACCTCTL_TEST_PG_URL is not set: in CI the PostgreSQL half must run (see .ci/run)');
  }
  process.stderr.write('acctctl tests: PostgreSQL half SKIPPED (set ACCTCTL_TEST_PG_URL=postgres://… to run it)\n');
}
