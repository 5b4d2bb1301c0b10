// While a party's room waits for a moderator (`waiting`, or `escalated` to a
// higher tier): a panel above the conversation saying what happens next and
// what the party can do meanwhile, with those actions at hand. No place in
// the queue nor a waiting time: a party's token cannot read the queue
// (GET /api/queue is staff-only) and the welcome carries neither, so none is
// shown rather than one made up. The panel folds to its title line once the
// conversation has messages, and goes when a moderator claims the room.

import { h } from '../shared/dom.js';
import { t } from '../i18n.js';
import { PARTIES } from './roles.js';

const WAITING = ['waiting', 'escalated'];

export class WaitingPanel {
  /** @param {import('./view.js').RoomView} view  a party's room view */
  constructor(view) {
    this.view = view;
    this.toggled = false; // the party opened or closed it: leave it as they want it
    this.title = h('span', { class: 'waiting-title' });
    this.details = h('details', { class: 'waiting-details', open: true },
      h('summary', {}, h('h2', { class: 'waiting-heading' }, this.title)),
      h('div', { class: 'waiting-body' },
        h('h3', { text: t('waiting.nextTitle') }),
        h('p', { class: 'waiting-next', text: t('waiting.next') }),
        h('h3', { text: t('waiting.meanwhileTitle') }),
        h('ul', { class: 'waiting-meanwhile' },
          this._row(h('button', { type: 'button', class: 'waiting-write', text: t('waiting.writeJoint'),
            onclick: () => this._compose('joint') }), t('waiting.writeJointWhy')),
          this._row(h('button', { type: 'button', class: 'secondary waiting-private',
            text: t('waiting.writePrivate'), onclick: () => this._compose(`caucus:${this.view.you.role}`) }),
          t('waiting.writePrivateWhy')),
          this._row(h('button', { type: 'button', class: 'secondary waiting-attach', text: t('waiting.attach'),
            onclick: () => this._attach() }), t('waiting.attachWhy'))),
        h('p', { class: 'waiting-propose', text: t('waiting.propose') })));
    this.wanted = true; // what this panel last set; a toggle to anything else is the party's
    this.details.addEventListener('toggle', () => {
      if (this.details.open !== this.wanted) this.toggled = true;
    });
    this.region = h('section', { class: 'waiting', hidden: true, 'aria-labelledby': 'waiting-title' },
      this.details);
    this.title.id = 'waiting-title';
    view.el.panels.before(this.region);
  }

  _row(button, why) {
    return h('li', {}, button, ' ', h('span', { class: 'waiting-why', text: why }));
  }

  update() {
    const { you, room } = this.view;
    const shown = Boolean(you && room) && PARTIES.includes(you.role) && WAITING.includes(room.state);
    this.region.hidden = !shown;
    if (!shown) return;
    this.title.textContent = t(room.state === 'escalated' ? 'waiting.titleEscalated' : 'waiting.title');
    if (!this.toggled) {
      const talked = [...this.view.panes.values()]
        .some((pane) => pane.list.querySelector('li.msg:not(.system)'));
      this.wanted = !talked;
      this.details.open = this.wanted;
    }
  }

  _compose(channel) {
    const { view } = this;
    if (!view.activateIndex([...view.panes.keys()].indexOf(channel))) return;
    view.focusComposer();
  }

  _attach() {
    const { view } = this;
    if (!view.activateIndex([...view.panes.keys()].indexOf('joint'))) return;
    view.panes.get('joint')?.form?.querySelector('button.attach')?.click();
  }
}

/** The waiting panel of a party's page, kept up to date by the protocol client's frames. */
export function installWaiting(view, client) {
  const panel = new WaitingPanel(view);
  const update = () => panel.update();
  for (const type of ['welcome', 'event', 'message', 'delivered']) client.on(type, update);
  return panel;
}
