// Redaction: a moderator removes a message's text (and its edits') for good, with a
// reason code; everyone who reads the channel sees "Removed by the moderator: reason"
// in its place (docs/protocol.md, `redact`; docs/transcripts.md, "Redactions").

import { h } from '../shared/dom.js';
import { formDialog } from '../shared/dialog.js';
import { t } from '../i18n.js';

export const REASONS = ['personal_data', 'payment_data', 'abuse', 'other'];

/** The notice shown instead of the text. */
export function removedText(reason) {
  return t('msg.redacted', { reason: t(`redaction.${reason}`) });
}

/** Show `item` (a message's <li>) as redacted: no text, no earlier versions. */
export function markRemoved(item, reason) {
  item.querySelectorAll('.earlier, .edited, .redact').forEach((node) => node.remove());
  item.querySelector('.body').textContent = removedText(reason);
  item.classList.add('redacted');
}

/** A moderator's "Remove text" button for a stored message (`frame`). */
export function redactButton(frame, act) {
  return h('button', { type: 'button', class: 'secondary redact', text: t('redaction.button'),
    'aria-label': t('redaction.label', { seq: frame.seq }),
    onclick: async () => {
      const values = await formDialog({
        title: t('redaction.title'),
        intro: t('redaction.intro'),
        submit: t('redaction.submit'),
        danger: true,
        fields: [{ name: 'reason', label: t('redaction.reason'), type: 'select', value: REASONS[0],
          options: REASONS.map((r) => [r, t(`redaction.${r}`)]) }],
      });
      if (values === null) return;
      act('redact', { channel: frame.channel, target: frame.seq, reason: values.reason }, frame.channel);
    } });
}
