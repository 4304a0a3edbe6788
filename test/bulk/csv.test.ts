/** The bulk engine's input stage: every CSV dialect, strict UTF-8, every error named by line and column. */
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { parseColumnMap, readCsv, restoreCell, type CsvRow } from '../../src/bulk/csv.js';
import { USER_IMPORT_COLUMNS, validateAll, validateUserRow } from '../../src/bulk/rows.js';

const KNOWN = USER_IMPORT_COLUMNS;

async function rows(input: string | Buffer, opts: Partial<Parameters<typeof readCsv>[1]> = {}): Promise<CsvRow[]> {
  const out: CsvRow[] = [];
  for await (const r of readCsv(Readable.from([typeof input === 'string' ? Buffer.from(input) : input]), { known: KNOWN, required: ['email'], ...opts })) out.push(r);
  return out;
}

describe('readCsv', () => {
  it('reads every dialect: BOM, CRLF, ";", quoted newlines, mapped columns', async () => {
    const plain = await rows('email,name\na@example.com,Ann\n');
    expect(plain).toEqual([{ line: 2, values: { email: 'a@example.com', name: 'Ann' } }]);
    expect(await rows('\ufeffemail,name\r\na@example.com,Ann\r\n')).toEqual(plain);
    expect(await rows('email;name\na@example.com;Ann\n', { delimiter: ';' })).toEqual(plain);
    expect(await rows('Email Address,Full Name\na@example.com,Ann\n', { map: parseColumnMap(['Email Address=email', 'Full Name=name'], KNOWN) })).toEqual(plain);
    const quoted = await rows('email,address\na@example.com,"1 Main St\nSpringfield"\nb@example.com,x\n');
    expect(quoted).toEqual([
      { line: 2, values: { email: 'a@example.com', address: '1 Main St\nSpringfield' } },
      { line: 4, values: { email: 'b@example.com', address: 'x' } },
    ]);
  });

  it('refuses a record over 1 MiB (a runaway quote, a hostile file) naming its line, without buffering the rest', async () => {
    const huge = `email,address\na@example.com,x\nb@example.com,"${'y'.repeat(1_100_000)}"\n`;
    await expect(rows(huge)).rejects.toThrow(/^line 3: a record is longer than 1 MiB/);
    const runaway = `email,address\na@example.com,"never closed\n${'z,'.repeat(600_000)}\n`;
    await expect(rows(runaway)).rejects.toThrow(/^line \d: a record is longer than 1 MiB \(a quote that is never closed\?\)/);
  });

  it('restores cells the export neutralised for spreadsheets', async () => {
    expect(restoreCell("'=SUM(A1)")).toBe('=SUM(A1)');
    expect(restoreCell("'plain")).toBe("'plain");
    expect((await rows("email,name\na@example.com,'+1 call me\n"))[0]!.values.name).toBe('+1 call me');
  });

  it('refuses a bad file naming what and where', async () => {
    await expect(rows('')).rejects.toThrow(/header row is required/);
    await expect(rows('email,shoe_size\na@example.com,42\n')).rejects.toThrow(/line 1: unknown column "shoe_size"/);
    expect(await rows('email,shoe_size\na@example.com,42\n', { ignoreUnknown: true })).toEqual([{ line: 2, values: { email: 'a@example.com' } }]);
    await expect(rows('name\nAnn\n')).rejects.toThrow(/required column email is missing/);
    await expect(rows('email,email\na,b\n')).rejects.toThrow(/appears twice/);
    await expect(rows(Buffer.concat([Buffer.from('email,name\na@example.com,An'), Buffer.from([0xff, 0xfe]), Buffer.from('n\n')]))).rejects.toThrow(/line 2: the file is not valid UTF-8/);
    await expect(rows('email,name\na@example.com,Ann,extra\n')).rejects.toThrow(/line 2/);
    await expect(rows('email,name\n"a@example.com,Ann\n')).rejects.toThrow(/line/);
    expect(() => parseColumnMap(['nonsense'], KNOWN)).toThrow(/HEADER=column/);
    expect(() => parseColumnMap(['X=shoe_size'], KNOWN)).toThrow(/not a column/);
  });
});

describe('validating every row first', () => {
  it('names the one bad row in the middle of 10,000 by line and column', async () => {
    const lines = ['email,name,role'];
    for (let i = 0; i < 10_000; i++) lines.push(i === 5_000 ? 'bad-address,Eve,user' : `u${i}@example.com,User ${i},user`);
    const csv = readCsv(Readable.from([Buffer.from(lines.join('\n') + '\n')]), { known: KNOWN, required: ['email'] });
    const err = await validateAll(csv, validateUserRow).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 2 });
    expect((err as { rows: unknown[] }).rows).toEqual([{ line: 5002, column: 'email', message: expect.stringContaining('not an email address') }]);
  });

  it('reports every bad field of every row, up to --max-errors', async () => {
    const csv = 'email,role,timezone,password_hash\nx,root,Mars/Base,nope\nok@example.com,user,UTC,\n';
    const err = (await validateAll(readCsv(Readable.from([Buffer.from(csv)]), { known: KNOWN }), validateUserRow).catch((e: unknown) => e)) as { rows: { column: string }[]; message: string };
    expect(err.rows.map((r) => r.column)).toEqual(['email', 'role', 'timezone', 'password_hash']);
    expect(err.message).toContain('line 2, column role');
    const many = ['email', ...Array.from({ length: 500 }, () => 'bad')].join('\n');
    const capped = (await validateAll(readCsv(Readable.from([Buffer.from(many)]), { known: KNOWN }), validateUserRow, { maxErrors: 100 }).catch((e: unknown) => e)) as { rows: unknown[]; message: string };
    expect(capped.rows).toHaveLength(100);
    expect(capped.message).toMatch(/more errors not shown/);
  });

  it('takes $2y$ hashes from PHP as the equivalent $2b$', async () => {
    const hash = '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a';
    const kept: { password_hash?: string | undefined }[] = [];
    await validateAll(readCsv(Readable.from([Buffer.from(`email,password_hash\nphp@example.com,${hash}\n`)]), { known: KNOWN }), validateUserRow, { keep: (v) => kept.push(v) });
    expect(kept[0]!.password_hash).toBe(hash.replace('$2y$', '$2b$'));
  });
});
