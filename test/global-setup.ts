/** Says once whether the PostgreSQL half runs; in CI a skipped half is a failure. */
export default function setup(): void {
  if (process.env.ACCTCTL_TEST_PG_URL) {
    process.stderr.write('acctctl tests: running every service test on SQLite and PostgreSQL\n');
    return;
  }
  if (process.env.CI) {
    throw new Error('ACCTCTL_TEST_PG_URL is not set: in CI the PostgreSQL half must run (see .ci/run)');
  }
  process.stderr.write('acctctl tests: PostgreSQL half SKIPPED (set ACCTCTL_TEST_PG_URL=postgres://… to run it)\n');
}
