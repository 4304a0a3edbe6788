/**
 * The emails acctctl sends, each as plain text and HTML. Values are escaped for HTML;
 * headers (subject, addresses) are built by nodemailer, which encodes them, so a name
 * with CR/LF cannot add a header.
 */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

export interface AppInfo {
  /** app.name */
  name: string;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** One line for a subject: no control characters (a display name may carry anything). */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function page(app: AppInfo, paragraphs: string[], link?: { href: string; label: string }): string {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  const button = link ? `\n<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>\n<p style="color:#666">${escapeHtml(link.href)}</p>` : '';
  return `<!doctype html>\n<html><body style="font-family:sans-serif">\n${body}${button}\n<p style="color:#666">— ${escapeHtml(app.name)}</p>\n</body></html>\n`;
}

function text(app: AppInfo, paragraphs: string[], link?: string): string {
  return [...paragraphs, ...(link ? [link] : []), `— ${app.name}`].join('\n\n') + '\n';
}

export function resetPasswordMail(app: AppInfo, link: string, expiresAt: string): MailContent {
  const lines = [`Someone (hopefully you) asked to reset the password of your ${app.name} account.`, `Choose a new password with the link below. It works once, until ${expiresAt}.`, 'If you did not ask for this, ignore this email: your password stays as it is.'];
  return { subject: oneLine(`Reset your ${app.name} password`), text: text(app, lines, link), html: page(app, lines, { href: link, label: 'Choose a new password' }) };
}

export function verificationMail(app: AppInfo, link: string, expiresAt: string): MailContent {
  const lines = [`Please confirm that this is your email address for ${app.name}.`, `The link below works once, until ${expiresAt}.`];
  return { subject: oneLine(`Confirm your email address for ${app.name}`), text: text(app, lines, link), html: page(app, lines, { href: link, label: 'Confirm my email address' }) };
}

export function invitationMail(app: AppInfo, link: string, expiresAt: string, invitedBy: string): MailContent {
  const lines = [`${oneLine(invitedBy)} invited you to ${app.name}.`, `Accept the invitation with the link below. It works once, until ${expiresAt}.`];
  return { subject: oneLine(`You are invited to ${app.name}`), text: text(app, lines, link), html: page(app, lines, { href: link, label: 'Accept the invitation' }) };
}

export function testMail(app: AppInfo, sentAt: string): MailContent {
  const lines = [`This is a test message from ${app.name} (acctctl mail test), sent at ${sentAt}.`, 'If you can read it, outgoing mail works.'];
  return { subject: oneLine(`${app.name}: test message`), text: text(app, lines), html: page(app, lines) };
}
