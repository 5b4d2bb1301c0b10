// Read marks: per room, per user and per channel, the highest seq shown in
// a tab while that tab was open and the page visible. Kept in localStorage,
// so a reload counts as unread only what came after the mark (a badge no
// longer resets to zero, nor counts what was already read).

const PREFIX = 'mediation:read';

function storage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage refused (a sandboxed frame, a privacy setting): marks last one page
  }
}

export class ReadMarks {
  /** @param {() => void} onVisible  called when the page becomes visible again */
  constructor(onVisible) {
    this.key = null;
    this.marks = {};
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') onVisible();
    });
  }

  /** Read the marks of `user` in `room` (at the first welcome). */
  open(room, user) {
    const key = `${PREFIX}:${room}:${user}`;
    if (key === this.key) return;
    this.key = key;
    try {
      const stored = JSON.parse(storage()?.getItem(key) ?? '{}');
      this.marks = stored && typeof stored === 'object' ? stored : {};
    } catch {
      this.marks = {};
    }
  }

  mark(channel) {
    const seq = this.marks[channel];
    return Number.isInteger(seq) ? seq : 0;
  }

  /** Whether the record at `seq` of `channel` came after what was read there. */
  unread(channel, seq) {
    return Math.ceil(seq) > this.mark(channel);
  }

  /** `channel` is shown up to `seq`: read, if the page is visible. */
  seen(channel, seq) {
    if (this.key === null || document.visibilityState !== 'visible') return;
    if (!Number.isInteger(seq) || seq <= this.mark(channel)) return;
    this.marks[channel] = seq;
    try {
      storage()?.setItem(this.key, JSON.stringify(this.marks));
    } catch {
      // full or refused: the mark holds for this page
    }
  }
}
