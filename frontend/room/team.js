// Who moderates the room, as its records tell: the lead (the claim, a
// transfer) and the co-moderators the lead names (`comoderator` events,
// docs/protocol.md). A transfer to a co-moderator swaps the two; an
// escalation empties the team. Staff read the notes (transfers); parties see
// the `comoderator` events only.

export class Team {
  constructor() {
    this.lead = null;
    this.co = new Set();
  }

  /** Follow one event; true when the team changed. */
  event(frame) {
    switch (frame.kind) {
      case 'state':
        if (frame.state === 'mediating' && frame.sender.role === 'moderator') {
          this.lead = frame.sender.user;
          return true;
        }
        if (frame.state === 'escalated') {
          this.lead = null;
          this.co.clear();
          return true;
        }
        return false;
      case 'handoff': {
        const to = frame.moderator;
        if (!to) return false;
        if (this.co.delete(to) && this.lead && this.lead !== to) this.co.add(this.lead);
        this.lead = to;
        return true;
      }
      case 'comoderator':
        if (frame.added) this.co.add(frame.moderator);
        else this.co.delete(frame.moderator);
        return true;
      default:
        return false;
    }
  }

  /** 'lead', 'co' or null: a moderator's place in the team. */
  placeOf(user) {
    if (user === this.lead) return 'lead';
    return this.co.has(user) ? 'co' : null;
  }
}
