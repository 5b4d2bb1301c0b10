// Who pays whom. The protocol's `terms` carry an amount and a currency, no
// direction: the amount of a proposal, settlement or decision is what the
// client pays the freelancer (the escrow released to the freelancer; see
// docs/web.md, "Who pays whom"). Every page says so in words.

import { formatMoney, t } from '../i18n.js';

const PAYER = 'client';
const PAYEE = 'freelancer';

/**
 * "Client Alice Doe pays freelancer Bruno Roy USD 150.00", or, when the room's
 * client or freelancer is not known, "The client pays the freelancer USD 150.00".
 * @param {{amount: string, currency: string}} terms
 * @param {Iterable<{user: string, role: string}>} people  the room's participants
 * @param {(user: string) => string} nameOf  a user's display name (their id when none)
 */
export function paysSentence(terms, people, nameOf = (user) => user) {
  const amount = formatMoney(terms.amount, terms.currency);
  const everyone = [...people];
  const side = (role) => [...new Set(everyone.filter((p) => p.role === role).map((p) => nameOf(p.user)))]
    .join(t('list.and'));
  const client = side(PAYER);
  const freelancer = side(PAYEE);
  if (!client || !freelancer) return t('pays.unnamed', { amount });
  return t('pays.named', { client, freelancer, amount });
}

/** The client and freelancer among the senders of `records` (a transcript's, the audit page's). */
export function partiesOf(records) {
  const seen = new Map();
  for (const r of records) {
    const { user, role } = r.sender ?? {};
    if ([PAYER, PAYEE].includes(role) && !seen.has(`${role}:${user}`)) seen.set(`${role}:${user}`, { user, role });
  }
  return [...seen.values()];
}
