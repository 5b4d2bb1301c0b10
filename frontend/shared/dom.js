// Small DOM helpers shared by every view. Content from the network is only
// ever put in the page as text, never parsed as HTML.

/** Create an element. Props: class, text, on<event>, or attributes; children may be strings. */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.flat().filter((c) => c != null && c !== false));
  return node;
}

/** True when the keyboard focus is in a place that takes text. */
export function typingInField(target) {
  const tag = target?.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target?.isContentEditable;
}

/**
 * Screen-reader announcements through one polite live region. Messages are
 * queued a little apart so a burst is read in full rather than overwritten.
 */
export class Announcer {
  constructor(region) {
    this.region = region;
    this.queue = [];
    this.timer = null;
  }

  say(text) {
    this.queue.push(text);
    if (this.timer === null) this._next();
  }

  _next() {
    const text = this.queue.shift();
    if (text === undefined) {
      this.timer = null;
      return;
    }
    this.region.textContent = text;
    this.timer = setTimeout(() => this._next(), 700);
  }
}

/** Read `#a=1&b=2` into an object. */
export function fragmentParams(hash) {
  return Object.fromEntries(new URLSearchParams(hash.replace(/^#/, '')));
}
