// One line of text for each transcript event that is shown in a
// conversation as a system note; null for events shown another way.

import { formatTime, stateLabel, t } from '../i18n.js';
import { paysSentence } from './amounts.js';

const at = (iso) => (iso ? formatTime(new Date(iso)).short : '');

function partyName(party, you) {
  if (you && party === you.role) return t('event.you');
  return t(`party.${party}`);
}

/**
 * @param {(user: string) => string} name  a user's display name (their id when none)
 * @param {Iterable<{user, role}>} people  the room's participants: who pays whom in a decision
 */
export function eventText(frame, you, name = (user) => user, people = []) {
  const who = name(frame.sender?.user ?? '');
  switch (frame.kind) {
    case 'state':
      if (frame.terms && frame.target == null) return t('event.resolvedByDecision');
      if (frame.terms) return t('event.settled', { seq: frame.target });
      if (frame.state === 'mediating') {
        return t(['client', 'freelancer'].includes(you?.role) ? 'event.claimed' : 'event.claimedBy', { who });
      }
      return frame.reason
        ? t('event.stateWhy', { state: stateLabel(frame.state), reason: frame.reason })
        : t('event.state', { state: stateLabel(frame.state) });
    case 'floor': {
      const party = partyName(frame.party, you);
      const why = frame.reason ? t('event.why', { reason: frame.reason }) : '';
      return t(`event.floor.${frame.action}`, { party, until: at(frame.until), why });
    }
    case 'caucus':
      return t(frame.open ? 'event.caucus.open' : 'event.caucus.close', {
        party: partyName(frame.party, you),
      });
    case 'handoff':
      return frame.moderator
        ? t('event.transfer', { who, to: name(frame.moderator), brief: frame.brief })
        : t('event.brief', { who, brief: frame.brief });
    case 'response':
      return t(`event.response.${frame.answer}`, { who, seq: frame.target });
    case 'csat':
      return t('event.csat', { who, rating: frame.rating, comment: frame.comment || '' });
    case 'overdue':
      return t(`event.overdue.${frame.clock}`, {
        party: frame.party ? t(`party.${frame.party}`) : '', since: at(frame.since),
      });
    case 'reminder':
      return you?.role === frame.party
        ? t('event.reminder.you')
        : t('event.reminder', { party: t(`party.${frame.party}`) });
    case 'deadline':
      return t('event.deadline', { party: partyName(frame.party, you), when: at(frame.due_at) });
    case 'deadline_ended':
      return t(`event.deadlineEnded.${frame.cause}`, {
        seq: frame.deadline, why: frame.reason ? t('event.why', { reason: frame.reason }) : '',
      });
    case 'deadline_warning':
      return t('event.deadlineWarning', { party: partyName(frame.party, you), when: at(frame.due_at) });
    case 'deadline_applied':
      return t(`event.deadlineApplied.${frame.outcome}`, { party: partyName(frame.party, you) });
    case 'evidence_review': // shown on the request's card when the card is on the page
      return t('event.evidenceReview', { who, seq: frame.request, verdict: t(`evidence.verdict.${frame.verdict}`) });
    case 'file_deleted': // shown on the file's card when the card is on the page
      return t(frame.reason ? 'event.fileDeletedWhy' : 'event.fileDeleted', { who, reason: frame.reason ?? '' });
    case 'opt_in_window':
      return t('event.optInWindow', { until: at(frame.until) });
    case 'opt_in':
      return t('event.optIn', { who: partyName(frame.sender.role, you) });
    case 'decision':
      return t(frame.reason ? 'event.decisionWhy' : 'event.decision', {
        who,
        amount: paysSentence(frame.terms, people, name),
        text: frame.terms.text ? t('outcome.text', { text: frame.terms.text }) : '',
        reason: frame.reason ?? '',
      });
    case 'comoderator':
      return t(frame.added ? 'event.comoderator.added' : 'event.comoderator.removed', {
        who, user: name(frame.moderator),
      });
    case 'member_added':
      return t('event.memberAdded', { member: name(frame.member ?? ''), party: partyName(frame.side, you) });
    case 'member_removed':
      return t('event.memberRemoved', { member: name(frame.member ?? ''), party: partyName(frame.side, you) });
    default:
      return null; // joined: presence shows it; edit, retract, proposal: handled in place
  }
}

/** Which pane a room-channel event is shown in, for a reader with `role`. */
export function paneFor(frame, role) {
  if (frame.channel !== 'room') return frame.channel;
  if (frame.kind === 'caucus' && ['moderator', 'observer'].includes(role)) return `caucus:${frame.party}`;
  return 'joint';
}
