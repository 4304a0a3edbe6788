/**
 * `invite bulk --file`: invitations from CSV on the bulk engine (plan, confirmation,
 * batches, --continue-on-error). Columns: email (required), role, plan, customer,
 * member_role (the last three refused until plans and customers exist). Each invitation
 * is the single verb's (createInvitationTx), its email queued in the outbox; the caller
 * sends the queue after the run.
 */
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { DB } from '../db/types.js';
import { RefusedError } from '../errors.js';
import * as v from '../domain/validate.js';
import type { Role } from '../domain/enums.js';
import { csvSource, type CsvRow } from '../bulk/csv.js';
import { LineSet } from '../bulk/line-set.js';
import { runBulk, type ApplyResult, type BulkHooks, type BulkJob, type BulkOptions, type BulkPlan, type BulkSummary, type PlanItem, type RefusedRow } from '../bulk/engine.js';
import type { RowError } from '../bulk/rows.js';
import { isoNow, type ServiceContext } from './context.js';
import { assertCan, type Actor } from './permissions.js';
import { policyOf } from './policy.js';
import { authorizeRead, type UnitOfWork } from './unit-of-work.js';
import { createInvitationTx } from './invitations.js';
import { normalizeEmail, printable } from './validate.js';

export const INVITE_BULK_COLUMNS = ['email', 'role', 'plan', 'customer', 'member_role'] as const;

interface Row {
  email: string;
  role: Role;
}

function validator(): (row: CsvRow) => { ok: true; value: Row } | { ok: false; errors: RowError[] } {
  const seen = new LineSet();
  return (row) => {
    const errors: RowError[] = [];
    const email = v.validEmail(row.values.email ?? '', 'email');
    if (!email.ok) errors.push({ line: row.line, column: 'email', message: email.message });
    const role = v.validRole(row.values.role || 'user', 'role');
    if (!role.ok) errors.push({ line: row.line, column: 'role', message: role.message });
    for (const c of ['plan', 'customer', 'member_role'] as const) {
      if ((row.values[c] ?? '') !== '') errors.push({ line: row.line, column: c, message: 'not available yet (plans and customers come in a later release): leave the column empty' });
    }
    if (email.ok) {
      const first = seen.firstLine(normalizeEmail(email.value), row.line);
      if (first !== undefined) errors.push({ line: row.line, column: 'email', message: `${printable(email.value)} is already on line ${first}` });
    }
    if (errors.length > 0 || !email.ok || !role.ok) return { ok: false, errors };
    return { ok: true, value: { email: email.value, role: role.value } };
  };
}

async function blocked(db: Kysely<DB>, emails: string[], now: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < emails.length; i += 500) {
    const part = emails.slice(i, i + 500);
    if (part.length === 0) continue;
    for (const u of await db.selectFrom('users').select(['id', 'email_normalized']).where('email_normalized', 'in', part).execute()) out.set(u.email_normalized, `already has an account (user ${u.id})`);
    const pending = await db.selectFrom('invitations').select(['public_id', 'email_normalized']).where('email_normalized', 'in', part).where('status', '=', 'pending').where('expires_at', '>', now).execute();
    for (const p of pending) if (!out.has(p.email_normalized)) out.set(p.email_normalized, `has a pending invitation (${p.public_id})`);
  }
  return out;
}

export class InviteBulkJob implements BulkJob<Row> {
  readonly action = 'invite.bulk';
  readonly idle = [] as const;
  readonly options: Record<string, unknown>;

  constructor(readonly ctx: ServiceContext, readonly ttl: number) {
    this.options = { ttl_seconds: ttl };
  }

  async resolve(db: Kysely<DB>, actor: Actor, rows: { line: number | null; value: Row }[]): Promise<(PlanItem | RefusedRow)[]> {
    const why = await blocked(db, rows.map((r) => normalizeEmail(r.value.email)), isoNow(this.ctx));
    return rows.map(({ line, value }) => {
      const reason = why.get(normalizeEmail(value.email));
      if (reason) return { line, column: 'email', target: value.email, reason: `${printable(value.email)} ${reason}` };
      if (actor.kind === 'user' && actor.role !== 'admin') return { line, column: 'email', target: value.email, reason: `actor ${actor.label} has role ${actor.role}: only admins invite` };
      return { line, op: 'invite', target: { public_id: null, label: value.email, updated_at: null }, data: { email: value.email, role: value.role }, summary: value.role };
    });
  }

  async apply(uow: UnitOfWork, items: PlanItem[]): Promise<ApplyResult[]> {
    const results: ApplyResult[] = [];
    for (const item of items) {
      const d = item.data as { email: string; role: Role };
      try {
        await createInvitationTx(uow, { email: d.email, role: d.role, ttl: this.ttl, resend: false, sendEmail: true });
        results.push({ ok: true, changed: true });
      } catch (err) {
        if (!(err instanceof RefusedError)) throw err;
        results.push({ ok: false, reason: err.message });
      }
    }
    return results;
  }

  async stale(db: Kysely<DB>, items: PlanItem[]): Promise<RefusedRow[]> {
    const why = await blocked(db, items.map((x) => normalizeEmail(x.target.label)), isoNow(this.ctx));
    return items.filter((x) => why.has(normalizeEmail(x.target.label))).map((x) => ({ line: x.line, target: x.target.label, reason: `${printable(x.target.label)} ${why.get(normalizeEmail(x.target.label))} since the plan was made` }));
  }
}

export async function inviteBulkJob(ctx: ServiceContext, opts: { ttlSeconds?: number | undefined } = {}): Promise<InviteBulkJob> {
  const policy = await policyOf(ctx);
  if (policy.get('app.base_url') === null) throw new RefusedError('app.base_url is unset, so invitation emails could carry no link: set it first');
  return new InviteBulkJob(ctx, opts.ttlSeconds ?? policy.get('invitation.lifetime'));
}

export interface InviteBulkInput {
  open: () => Readable;
  name: string;
  delimiter?: string | undefined;
  map?: Record<string, string> | undefined;
  ignoreUnknown?: boolean | undefined;
  ttlSeconds?: number | undefined;
}

/** Invitations from CSV: plan, confirm (hooks), apply in batches; the emails wait in the outbox. */
export async function inviteBulk(ctx: ServiceContext, input: InviteBulkInput, opts: BulkOptions, hooks: BulkHooks = {}): Promise<{ plan: BulkPlan; summary: BulkSummary }> {
  await authorizeRead(ctx, 'invite.bulk', (a) => assertCan(a, 'user.manage'));
  const job = await inviteBulkJob(ctx, input);
  const source = csvSource(input.open, input.name, { known: INVITE_BULK_COLUMNS, required: ['email'], delimiter: input.delimiter, map: input.map, ignoreUnknown: input.ignoreUnknown }, validator());
  return runBulk(ctx, job, source, opts, hooks);
}
