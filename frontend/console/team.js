// The lead moderator's team actions on the open room: name a co-moderator,
// remove one, hand the lead over (a `transfer` to a co-moderator swaps the
// two). Only the lead changes the team; the server says so to anyone else.

import { formDialog } from '../shared/dialog.js';
import { t } from '../i18n.js';

/**
 * @param {import('../room/view.js').RoomView} view
 * @param {(type: string, fields: object, channel: string) => void} act
 */
export async function teamDialog(view, act) {
  const team = view.team;
  const co = [...team.co];
  const options = [['add', t('team.add')]];
  if (co.length) options.push(['remove', t('team.remove')], ['handover', t('team.handover')]);
  const values = await formDialog({
    title: t('team.title'),
    intro: t('team.intro', { lead: team.lead ? view.nameOf(team.lead) : t('team.nobody'),
      co: co.length ? co.map((u) => view.nameOf(u)).join(t('list.and')) : t('team.nobody') }),
    submit: t('team.submit'),
    fields: [
      { name: 'action', label: t('team.action'), type: 'select', options },
      { name: 'user', label: t('team.user'), required: true, value: co[0] ?? '' },
      { name: 'brief', label: t('team.brief'), type: 'textarea', rows: 3 },
    ],
  });
  if (!values) return;
  const user = values.user.trim();
  if (!user) return;
  if (values.action === 'handover') {
    act('transfer', { to: user, brief: values.brief.trim() || t('team.briefDefault') }, 'notes');
  } else {
    act('co_moderator', { user, add: values.action === 'add' }, 'room');
  }
}
